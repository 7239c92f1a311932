"""The Anthropic `messages` list of a session's chain: what is sent to the model on resume.

Chain entries (`tether.sessions.entries`) become user/assistant messages, same-role turns merged;
entries whose content cannot be sent are skipped, and tool calls left without a result are
answered by `MISSING_TOOL_RESULT` or listed (`unanswered_tool_uses`).
"""

from __future__ import annotations

import logging
from collections.abc import Container, Iterable
from typing import Any

from tether.sessions.entries import MISSING_TOOL_RESULT, json_problem

__all__ = ["chain_to_api_messages", "history_of", "sendable_chain", "unanswered_tool_uses"]

log = logging.getLogger("tether.sessions")


def chain_to_api_messages(chain: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Anthropic `messages` list of a chain: user/assistant turns, same-role turns merged.

    Assistant entries that share `message.id` (Claude Code writes one per content block) are
    joined into one message; consecutive user entries (a prompt after an interrupted turn) are
    joined too, since the API requires alternating roles. The content blocks are the entries' own
    dicts, not copies: treat them as read-only.
    """
    return _api_messages(sendable_chain(chain))


def history_of(
    chain: Iterable[dict[str, Any]], clean: Container[int] = ()
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`(chain_to_api_messages(chain), unanswered_tool_uses(chain))`, the chain checked once (but
    for the message contents whose `id()` is in `clean`: known to be sendable)."""
    sendable = sendable_chain(chain, clean)
    return _api_messages(sendable), _unanswered(sendable)


def _api_messages(sendable: list[dict[str, Any]]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    last_role: str | None = None
    for entry in sendable:
        role = entry.get("type")
        if role != "user" and role != "assistant":
            continue
        message = entry.get("message")
        if not isinstance(message, dict) or entry.get("isSidechain"):
            continue
        content = message.get("content", "")
        if isinstance(content, list):
            blocks = [block for block in content if type(block) is dict or isinstance(block, dict)]
        else:
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else []
        if role == last_role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})
        last_role = role
    _pair_tool_results(messages)
    return messages


def _pair_tool_results(messages: list[dict[str, Any]]) -> None:
    """Make each user message answer exactly the tool calls of the assistant message before it.

    The API refuses a history with a tool call and no result in the next message, or a result
    whose call is not in the message before (imported and damaged transcripts have both): a
    missing result becomes an error result, a stray one is dropped, and results come first in
    the message, as the API asks. Calls still open at the end of the history (no message after
    them but their results) are left for the runtime, which stores their results
    (`unanswered_tool_uses`, `Session.close_unanswered`).
    """
    for index in range(1, len(messages)):
        message = messages[index]
        if message["role"] != "user":
            continue
        calls = [str(b.get("id")) for b in messages[index - 1]["content"] if b.get("type") == "tool_use"]
        content = message["content"]
        if _answers_in_order(calls, content):
            continue  # the usual case: each call answered once, results first
        results = [b for b in content if b.get("type") == "tool_result"]
        by_call = {str(b.get("tool_use_id")): b for b in results}
        open_at_end = index == len(messages) - 1 and len(results) == len(content)
        answers = [by_call.get(call) or _missing_result(call) for call in calls if call in by_call or not open_at_end]
        others = [b for b in content if b.get("type") != "tool_result"]
        kept = answers + others
        message["content"] = kept if kept or open_at_end else [{"type": "text", "text": "(no content)"}]


def _answers_in_order(calls: list[str], content: list[dict[str, Any]]) -> bool:
    """Whether `content` starts with one result for each of `calls`, in their order, and holds no other result."""
    if len(content) < len(calls):
        return False
    for call, block in zip(calls, content, strict=False):
        if block.get("type") != "tool_result" or str(block.get("tool_use_id")) != call:
            return False
    for block in content[len(calls) :]:
        if block.get("type") == "tool_result":
            return False
    return True


def _missing_result(call_id: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": MISSING_TOOL_RESULT, "is_error": True}


def unanswered_tool_uses(chain: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool calls at the end of the chain that never got a result (the process died mid-turn).

    Calls left unanswered before a later prompt are not among them: they are mid-chain, and get
    their error result on the way to the model (`chain_to_api_messages`).
    """
    return _unanswered(sendable_chain(chain))


def _unanswered(sendable: list[dict[str, Any]]) -> list[dict[str, Any]]:
    pending: dict[str, dict[str, Any]] = {}
    for entry in sendable[_last_prompt(sendable) :]:
        message = entry.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("content"), list):
            continue
        is_assistant = entry.get("type") == "assistant"
        for block in message["content"]:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use" and is_assistant:
                pending[str(block.get("id"))] = block
            elif block.get("type") == "tool_result":
                pending.pop(str(block.get("tool_use_id")), None)
    return list(pending.values())


def _last_prompt(sendable: list[dict[str, Any]]) -> int:
    """The position of the last user entry that is a prompt (no tool results), else 0: the calls
    before it were left mid-chain."""
    for index in range(len(sendable) - 1, -1, -1):
        entry = sendable[index]
        message = entry.get("message")
        if entry.get("type") != "user" or not isinstance(message, dict):
            continue
        content = message.get("content")
        if not isinstance(content, list) or not any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in content
        ):
            return index
    return 0


def sendable_chain(chain: Iterable[dict[str, Any]], clean: Container[int] = ()) -> list[dict[str, Any]]:
    """The chain without the entries whose message content cannot be sent back to a model
    (`json_problem`: a reply nested too deeply, stored before tether refused such output), each
    skipped entry logged, as damaged rows are; results that answer a skipped entry's tool calls
    are left out too (copies: the stored entries stay as they are)."""
    kept: list[dict[str, Any]] = []
    skipped_calls: set[str] = set()
    for entry in chain:
        message = entry.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(message, dict) or not isinstance(content, list):
            kept.append(entry)
            continue
        problem = None if id(content) in clean else json_problem(content)
        if problem is not None:
            log.warning("skipped entry %s of session %s: %s", entry.get("uuid"), entry.get("sessionId"), problem)
            skipped_calls.update(
                str(b.get("id")) for b in content if isinstance(b, dict) and b.get("type") == "tool_use"
            )
            continue
        if skipped_calls and any(_answers(block, skipped_calls) for block in content):
            rest = [block for block in content if not _answers(block, skipped_calls)]
            if not rest:
                continue
            entry = {**entry, "message": {**message, "content": rest}}
        kept.append(entry)
    return kept


def _answers(block: Any, calls: set[str]) -> bool:
    return isinstance(block, dict) and block.get("type") == "tool_result" and str(block.get("tool_use_id")) in calls
