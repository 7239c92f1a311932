from claude_agent_sdk import query, ClaudeAgentOptions


async def main():
    # Original session
    session_id = None
    async for message in query(
        prompt="Help me design a REST API",
        options=ClaudeAgentOptions(model="claude-sonnet-4-5")
    ):
        if hasattr(message, 'subtype') and message.subtype == 'init':
            session_id = message.data.get('session_id')
            print(f"Original session: {session_id}")

    # Fork the session to try a different approach
    forked_id = None
    async for message in query(
        prompt="Now let's redesign this as a GraphQL API instead",
        options=ClaudeAgentOptions(
            resume=session_id,
            fork_session=True,  # Creates a new session ID
            model="claude-sonnet-4-5"
        )
    ):
        if hasattr(message, 'subtype') and message.subtype == 'init':
            forked_id = message.data.get('session_id')
            print(f"Forked session: {forked_id}")

    # The original session remains unchanged and can still be resumed
    async for message in query(
        prompt="Add authentication to the REST API",
        options=ClaudeAgentOptions(
            resume=session_id,
            fork_session=False,  # Continue original session
            model="claude-sonnet-4-5"
        )
    ):
        print(message)
    return session_id, forked_id
