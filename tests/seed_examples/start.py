from claude_agent_sdk import query, ClaudeAgentOptions


async def main():
    session_id = None

    async for message in query(
        prompt="Help me build a web application",
        options=ClaudeAgentOptions(
            model="claude-sonnet-4-5"
        )
    ):
        # The first message is a system init message with the session ID
        if hasattr(message, 'subtype') and message.subtype == 'init':
            session_id = message.data.get('session_id')
            print(f"Session started with ID: {session_id}")

        # Process other messages...
        print(message)

    # Later, you can use the saved session_id to resume
    if session_id:
        print(f"Resuming session {session_id}...")
    return session_id
