from claude_agent_sdk import query, ClaudeAgentOptions


async def main(session_id):
    # Resume a previous session using its ID
    async for message in query(
        prompt="Continue implementing the authentication system from where we left off",
        options=ClaudeAgentOptions(
            resume=session_id,  # Session ID from previous conversation
            model="claude-sonnet-4-5",
            allowed_tools=["Read", "Edit", "Write", "Glob", "Grep", "Bash"]
        )
    ):
        print(message)
