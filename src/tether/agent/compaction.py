"""Compaction: a session outlives its model's context window, and nothing is deleted.

When the request would reach the threshold of the window (`tether.agent.context_window`
counts), when the prompt is `/compact [instructions]`, or when the provider answers "prompt is
too long" (then the request is tried once more), the agent compacts:

1. `PreCompact` hooks run (`trigger` `auto` or `manual`, `custom_instructions`): a hook's
   `decision: "block"` (or `continue_: False`) vetoes the compaction; its
   `hookSpecificOutput.additionalContext` is added to the instructions;
2. the model (the session's, or `Compactor.model`) summarises the history but its last messages
   (the tail: those within a tenth of the window, at most 20k tokens, and at least the last
   exchange; after `/compact` only the last exchange), in several requests when the history is
   larger than the window (each after the summary so far);
3. a `system` `compact_boundary` entry (`parentUuid` null, `logicalParentUuid` the old leaf,
   `compactMetadata` with trigger, pre/post tokens, duration and the preserved segment), the
   summary as a `user` entry (`isCompactSummary`) and a copy of the tail are appended, in
   Claude Code's on-disk shape, so Claude Code, the Claude Agent SDK and tether read the same
   active chain;
4. the SDK's messages are streamed: `SystemMessage` `status` (`compacting`, then
   `compact_result`), `compact_boundary` with `compact_metadata`, and the summary as a
   `UserMessage`.

Later requests send the summary, the tail and what follows. Every earlier entry stays in the
store: `resume_session_at` (or a fork) at a message before the boundary gets that point's full
context back, and `get_session_messages(..., full_history=True)` reads the whole branch.

The environment variables that turn compaction off or move its threshold are those of
`tether.agent.context_window`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from tether.agent.context_window import (
    CHARS_PER_TOKEN,
    ENV_DISABLE,
    CompactionPolicy,
    ContextMeter,
    MessageTokens,
    estimate_tokens,
    is_prompt_too_long,
    overhead_tokens,
    reported_tokens,
    request_tokens,
)
from tether.agent.hooks import HookRunner
from tether.errors import ModelError
from tether.messages import Message, SystemMessage, UserMessage
from tether.models.base import Model, ModelRequest, ModelResponse, ModelSettings, ToolSpec
from tether.sessions.entries import make_compact_boundary, make_entry, new_uuid
from tether.sessions.history import chain_to_api_messages
from tether.sessions.session import Session

__all__ = ["COMPACT_COMMAND", "CompactJob", "Compactor", "compact_command"]

COMPACT_COMMAND = "/compact"
MAX_FAILURES = 3
"""Failed automatic compactions in a row after which the agent stops trying (until one succeeds)."""
MIN_CHUNK = 256
"""The fewest estimated tokens of history a summary request is made with."""
NO_LIMIT = 10**12

SUMMARY_SYSTEM = (
    "You write summaries of conversations between a user and an AI assistant, so that the work "
    "can go on from the summary alone."
)
SUMMARY_PROMPT = """Summarise the conversation above. The messages it covers will be replaced by your \
summary, so the work must be able to go on from the summary alone.

Cover, where they appear:
1. What the user asked for and wants, quoting their words where they matter.
2. Decisions taken and why; facts learned; constraints given.
3. Files, code, commands and values involved, exactly: paths, names, numbers, error messages.
4. What was done, what failed and how it was fixed.
5. What is still to do, and the very next step.

Do not call tools. Reply with the summary only, inside <summary></summary> tags."""


# -- choosing what to summarise -------------------------------------------------------------------


def _has_tool_results(message: dict[str, Any]) -> bool:
    content = message.get("content")
    if not isinstance(content, list):
        return False
    for block in content:  # a loop, not any(): a compaction checks every message of the history
        if isinstance(block, dict) and block.get("type") == "tool_result":
            return True
    return False


def split_points(messages: list[dict[str, Any]]) -> list[int]:
    """Where a kept tail or a summarised chunk may start: at an assistant message, or at a user
    message without tool results (tool results must follow their calls)."""
    return [i for i, m in enumerate(messages) if m.get("role") == "assistant" or not _has_tool_results(m)]


def split_tail(
    messages: list[dict[str, Any]], budget: int, sizes: list[int] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`(head, tail)`: the tail is the longest run of last messages within `budget` tokens that
    starts at a split point, and at least the last such run; the head is summarised. `sizes`: the
    messages' estimates, when already counted."""
    points = [point for point in split_points(messages) if point > 0]
    if not points:
        return list(messages), []
    if sizes is None:
        sizes = [estimate_tokens(message) for message in messages]
    suffix = [0] * (len(messages) + 1)
    for index in range(len(messages) - 1, -1, -1):
        suffix[index] = suffix[index + 1] + sizes[index]
    start = next((point for point in points if suffix[point] <= budget), points[-1])
    return messages[:start], messages[start:]


def chunks_of(
    messages: list[dict[str, Any]], budget: int, sizes: list[int] | None = None
) -> list[list[dict[str, Any]]]:
    """`messages` in runs of about `budget` tokens each, cut at split points (a run too long on its
    own has its longest texts clipped). `sizes`: the messages' estimates, when already counted."""
    if sizes is None:
        sizes = [estimate_tokens(message) for message in messages]
    bounds = sorted({0, *split_points(messages), len(messages)})
    chunks: list[tuple[list[dict[str, Any]], int]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for start, end in pairwise(bounds):
        tokens = sum(sizes[start:end])
        if current and size + tokens > budget:
            chunks.append((current, size))
            current, size = [], 0
        current.extend(messages[start:end])
        size += tokens
    if current:
        chunks.append((current, size))
    return [chunk if size <= budget else _clipped(chunk, budget) for chunk, size in chunks]


def _clipped(chunk: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    blocks = sum(len(_blocks(message)) for message in chunk)
    most = max(400, budget * CHARS_PER_TOKEN // max(blocks, 1))
    return [{**message, "content": _clip_blocks(_blocks(message), most)} for message in chunk]


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content or [] if isinstance(block, dict)]


def _clip_blocks(blocks: list[dict[str, Any]], most: int) -> list[dict[str, Any]]:
    """The blocks with texts, tool results and tool inputs longer than `most` characters cut in the
    middle (thinking is left out: it cannot be changed, and a summary does not need it)."""
    clipped: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("thinking", "redacted_thinking"):
            continue
        if kind == "text":
            block = {**block, "text": _clip(str(block.get("text", "")), most)}
        elif kind == "tool_result":
            content = block.get("content")
            if isinstance(content, list):
                content = _clip_blocks([b for b in content if isinstance(b, dict)], most)
            block = {**block, "content": _clip(content, most) if isinstance(content, str) else content}
        elif kind == "tool_use" and len(text := json.dumps(block.get("input"), ensure_ascii=False)) > most:
            block = {**block, "input": {"clipped_input": _clip(text, most)}}
        clipped.append(block)
    return clipped


def _clip(text: str, most: int) -> str:
    if len(text) <= most:
        return text
    head, tail = most * 2 // 3, most // 3
    return f"{text[:head]}\n[... {len(text) - head - tail} characters left out ...]\n{text[-tail:]}"


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def _alternating(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages with consecutive ones of the same role joined into new ones (a history message
    of blocks is kept as it is: the request is read-only)."""
    joined: list[dict[str, Any]] = []
    for message in messages:
        if joined and joined[-1]["role"] == message["role"]:
            joined[-1] = {"role": message["role"], "content": [*joined[-1]["content"], *_blocks(message)]}
        elif len(message) == 2 and type(message.get("content")) is list:
            joined.append(message)  # a history message as it is (a copy each would be garbage to collect)
        else:
            joined.append({"role": message["role"], "content": _blocks(message)})
    return joined


def summary_messages(
    previous: str | None, chunk: list[dict[str, Any]], instructions: str | None
) -> list[dict[str, Any]]:
    """The messages asking for a summary of `chunk` (after the summary of what came before it)."""
    messages: list[dict[str, Any]] = []
    if previous is not None:
        messages.append(_user(f"A summary of the conversation before the part below:\n\n{previous}"))
    elif chunk and chunk[0].get("role") != "user":
        messages.append(_user("(The conversation starts here.)"))
    prompt = SUMMARY_PROMPT
    if previous is not None:
        prompt += "\n\nThe summary must cover the earlier summary at the start as well."
    if instructions:
        prompt += f"\n\nAdditional instructions:\n{instructions}"
    return _alternating([*messages, *chunk, _user(prompt)])


_ANALYSIS = re.compile(r"<analysis>.*?</analysis>", re.DOTALL)
_SUMMARY = re.compile(r"<summary>(.*?)(?:</summary>|\Z)", re.DOTALL)


def summary_of(response: ModelResponse) -> str:
    """The summary a response gave (inside `<summary>` tags when it used them)."""
    text = "".join(str(b.get("text", "")) for b in response.content if b.get("type") == "text")
    text = _ANALYSIS.sub("", text)
    match = _SUMMARY.search(text)
    return (match.group(1) if match else text).strip()


def compact_command(prompt: str | list[dict[str, Any]], *, verbatim: bool = False) -> str | None:
    """The instructions of a `/compact [instructions]` prompt (`""` without), None for any other
    prompt (and for every prompt with `verbatim_prompts`, which dispatches no slash command)."""
    if verbatim:
        return None
    if isinstance(prompt, list):
        texts = [b for b in prompt if isinstance(b, dict)]
        if len(texts) != 1 or texts[0].get("type") != "text":
            return None
        prompt = str(texts[0].get("text", ""))
    text = prompt.strip()
    if (
        text != COMPACT_COMMAND
        and not text.startswith(COMPACT_COMMAND + " ")
        and not text.startswith(COMPACT_COMMAND + "\n")
    ):
        return None
    return text[len(COMPACT_COMMAND) :].strip()


# -- compacting -----------------------------------------------------------------------------------


@dataclass
class CompactJob:
    """One compaction: what it works on, and (after `Compactor.run`) what came of it."""

    session: Session
    model: Model
    settings: ModelSettings
    hooks: HookRunner
    trigger: str
    """`auto` (the threshold, or "prompt too long") or `manual` (`/compact`)."""
    call: Callable[[Model, ModelRequest], Awaitable[ModelResponse]]
    """How a summary call is made (the agent holds it to its timeouts, see `guarded_stream`)."""
    instructions: str | None = None
    pre_tokens: int = 0
    """The tokens of the context before (as the meter counts them)."""
    system: str | None = None
    tools: list[ToolSpec] = field(default_factory=list)
    done: bool = False
    """True once the compaction is stored."""
    problem: str | None = None
    """Why there was no compaction (a veto, a failed summary, nothing to compact)."""
    responses: list[ModelResponse] = field(default_factory=list)
    """The summary calls' responses (their usage and cost count as the run's)."""
    api_seconds: float = 0.0


class Compactor:
    """The compaction state of one agent: policy, context meter, and failures in a row."""

    def __init__(self, policy: CompactionPolicy, model: Model | None = None) -> None:
        self.policy = policy
        self.model = model
        """The model that writes summaries (None: the session's own)."""
        self.meter = ContextMeter()
        self.counted = MessageTokens()
        """The history's messages as counted for the last request (each message is counted once)."""
        self.failures = 0

    def request_tokens(self, request: ModelRequest) -> int:
        """An estimate of the tokens of a request (`context_window.request_tokens`)."""
        return request_tokens(request, self.counted)

    @property
    def automatic(self) -> bool:
        """Whether the agent may compact on its own (threshold or "prompt too long")."""
        return self.policy.enabled and self.policy.auto and self.failures < MAX_FAILURES

    def window_fields(self) -> dict[str, Any]:
        """The window fields of `get_context_usage()`: `rawMaxTokens` (the window), `maxTokens` (less
        the summary's reserve), `isAutoCompactEnabled` and `autoCompactThreshold` (0: unknown window)."""
        policy = self.policy
        return {
            "maxTokens": max(policy.window - policy.summary_tokens, 0),
            "rawMaxTokens": policy.window,
            "isAutoCompactEnabled": self.automatic and policy.threshold > 0,
            "autoCompactThreshold": policy.threshold,
        }

    def due(self, tokens: int) -> bool:
        """Whether a request of `tokens` tokens reaches the threshold."""
        return self.automatic and self.policy.threshold > 0 and tokens >= self.policy.threshold

    def recovers(self, error: ModelError, estimate: int) -> bool:
        """Whether a failed request (of `estimate` estimated tokens) is one compaction may fix; learns
        from the counts the error gives."""
        if not is_prompt_too_long(error):
            return False
        counts = reported_tokens(error)
        if counts is not None:
            self.meter.learn(estimate, counts[0])
            if self.policy.window <= 0 or counts[1] < self.policy.window:
                self.policy = self.policy.with_window(counts[1])
        return self.automatic

    async def run(self, job: CompactJob) -> AsyncIterator[Message]:
        """Compact `job.session`, yielding the SDK's messages; the outcome is left in `job`."""
        session = job.session
        if not self.policy.enabled:
            job.problem = f"compaction is turned off ({ENV_DISABLE})"
            return
        keep = self.policy.tail_tokens if job.trigger == "auto" else 0  # `/compact` keeps only the last exchange
        sizes = self.counted.sizes(session.messages)
        head, tail = split_tail(session.messages, keep, sizes)
        if not head or (job.trigger == "auto" and not tail):
            job.problem = "there is not enough conversation to compact"
            return
        instructions = await self._consent(job)
        if job.problem is not None:
            return
        yield _status(session.session_id, "compacting")
        started = time.monotonic()
        try:
            summary = await self._summarize(job, head, sizes[: len(head)], instructions)
        except ModelError as error:
            self.failures += 1
            job.problem = f"the summary could not be written: {error}"
            yield _status(session.session_id, None, compact_result="failed", compact_error=str(error))
            return
        self.failures = 0
        boundary, written = await _write(job, summary, tail, started)
        self.meter.reset()
        self.counted.clear()
        job.done = True
        yield _status(session.session_id, None, compact_result="success")
        yield _boundary_message(boundary, session.session_id)
        yield UserMessage(content=written["message"]["content"], uuid=written["uuid"])

    async def _consent(self, job: CompactJob) -> str | None:
        """Run PreCompact: the instructions to use, or `job.problem` set when a hook vetoed."""
        outcome = await job.hooks.pre_compact(job.trigger, job.instructions or None)
        if outcome.blocked or not outcome.continue_:
            why = outcome.reason or outcome.stop_reason or "no reason given"
            job.problem = f"a PreCompact hook blocked the compaction: {why}"
            return None
        parts = [part for part in (job.instructions, outcome.context) if part]
        return "\n\n".join(parts) or None

    async def _summarize(
        self, job: CompactJob, head: list[dict[str, Any]], sizes: list[int], instructions: str | None
    ) -> str:
        """The summary of `head` (its messages' estimates `sizes`): one call when it fits the window,
        else one per chunk (each after the summary so far); a call refused as too long is tried again
        with chunks half as big."""
        total = sum(sizes)
        budget = self._budget(total, instructions)
        for attempt in range(3):
            try:
                return await self._summarize_in(job, chunks_of(head, budget, sizes), instructions)
            except ModelError as error:
                if attempt == 2 or not is_prompt_too_long(error):
                    raise
                budget = max(min(budget, total) // 2, MIN_CHUNK)
        raise AssertionError("unreachable")

    def _budget(self, head: int, instructions: str | None) -> int:
        """The estimated tokens of history one summary request may hold: all of a head of `head` tokens
        when it fits the window with the prompt and the reply, else chunks leaving room for the
        summary so far."""
        window = self.policy.window
        if window <= 0:
            return NO_LIMIT
        ratio = max(self.meter.ratio, 1.0)
        fixed = estimate_tokens([SUMMARY_SYSTEM, *summary_messages(None, [], instructions)])
        single = int((window - self.policy.summary_tokens) / ratio) - fixed
        if head <= single:
            return single
        return max(single - int(self.policy.summary_tokens / ratio), MIN_CHUNK)

    async def _summarize_in(self, job: CompactJob, chunks: list[list[dict[str, Any]]], instructions: str | None) -> str:
        model = self.model or job.model
        settings = ModelSettings(betas=job.settings.betas, client_app=job.settings.client_app)
        summary: str | None = None
        for chunk in chunks:
            request = ModelRequest(
                messages=summary_messages(summary, chunk, instructions),
                system=SUMMARY_SYSTEM,
                max_tokens=self.policy.summary_tokens,
                session_id=job.session.session_id,
                settings=settings,
            )
            started = time.monotonic()
            try:
                response = await job.call(model, request)
            finally:
                job.api_seconds += time.monotonic() - started
            job.responses.append(response)
            summary = summary_of(response)
            if not summary:
                raise ModelError(f"the model {model.model_name!r} answered the request for a summary with no text")
        assert summary is not None
        return summary


def continuation(summary: str, transcript_path: str) -> str:
    """The text of the summary entry the conversation continues from."""
    where = (
        f" If exact details from before are needed (code, error messages), the full transcript is at {transcript_path}."
        if transcript_path
        else ""
    )
    return (
        "This session is being continued from an earlier conversation that was compacted: the summary "
        f"below stands for the messages before it.{where}\n\n{summary}"
    )


def _tail_entry(session: Session, message: dict[str, Any], parent: str, model_name: str) -> dict[str, Any]:
    """A copy of one API message of the tail as a chain entry."""
    content: list[Any] = list(message["content"])  # its own list: the history it came from may grow
    if message["role"] == "user":
        return make_entry(
            "user",
            {"role": "user", "content": content},
            session_id=session.session_id,
            parent_uuid=parent,
            cwd=session.cwd,
        )
    calls = any(isinstance(b, dict) and b.get("type") == "tool_use" for b in content)
    reply: dict[str, Any] = {
        "id": f"msg_{new_uuid().replace('-', '')[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model_name,
        "content": content,
        "stop_reason": "tool_use" if calls else "end_turn",
        "stop_sequence": None,
        "usage": {},
    }
    return make_entry("assistant", reply, session_id=session.session_id, parent_uuid=parent, cwd=session.cwd)


async def _write(
    job: CompactJob, summary: str, tail: list[dict[str, Any]], started: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Append boundary, summary and tail copy; the session's history becomes summary + tail.

    Returns the boundary and the summary entries."""
    session = job.session
    boundary_uuid = new_uuid()
    text = continuation(summary, job.hooks.transcript_path)
    written = make_entry(
        "user",
        {"role": "user", "content": text},
        session_id=session.session_id,
        parent_uuid=boundary_uuid,
        cwd=session.cwd,
        isCompactSummary=True,
        isVisibleInTranscriptOnly=True,
    )
    copies: list[dict[str, Any]] = []
    for message in tail:
        copies.append(_tail_entry(session, message, (copies[-1] if copies else written)["uuid"], job.model.model_name))
    history = chain_to_api_messages([written, *copies])
    metadata: dict[str, Any] = {
        "trigger": job.trigger,
        "preTokens": job.pre_tokens,
        "postTokens": overhead_tokens(job.system, job.tools) + estimate_tokens(history),
        "durationMs": int((time.monotonic() - started) * 1000),
    }
    if copies:
        metadata["preservedSegment"] = {
            "headUuid": copies[0]["uuid"],
            "anchorUuid": written["uuid"],
            "tailUuid": copies[-1]["uuid"],
        }
    boundary = make_compact_boundary(
        session_id=session.session_id,
        cwd=session.cwd,
        logical_parent_uuid=session.parent_uuid,
        metadata=metadata,
        uuid=boundary_uuid,
    )
    await session.append_entries([boundary, written, *copies])
    session.messages = history
    return boundary, written


def _status(session_id: str, status: str | None, **fields: Any) -> SystemMessage:
    """The SDK's `status` system message (`compacting`, then None with `compact_result`)."""
    data = {"type": "system", "subtype": "status", "status": status, **fields}
    data.update(session_id=session_id, uuid=new_uuid())
    return SystemMessage(subtype="status", data=data)


def _boundary_message(boundary: dict[str, Any], session_id: str) -> SystemMessage:
    """The SDK's `compact_boundary` system message of a boundary entry (snake_case metadata)."""
    meta = boundary["compactMetadata"]
    compact: dict[str, Any] = {
        "trigger": meta["trigger"],
        "pre_tokens": meta["preTokens"],
        "post_tokens": meta["postTokens"],
        "duration_ms": meta["durationMs"],
    }
    segment = meta.get("preservedSegment")
    if segment:
        compact["preserved_segment"] = {
            "head_uuid": segment["headUuid"],
            "anchor_uuid": segment["anchorUuid"],
            "tail_uuid": segment["tailUuid"],
        }
    data = {
        "type": "system",
        "subtype": "compact_boundary",
        "compact_metadata": compact,
        "session_id": session_id,
        "uuid": boundary["uuid"],
    }
    return SystemMessage(subtype="compact_boundary", data=data)
