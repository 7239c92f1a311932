"""One prompt's run: the prompt stored, then model turns and tool calls until its `ResultMessage`.

`Turn` runs one prompt of an open agent (`tether.agent.loop.Agent.run`); everything it needs of
the agent comes in a `TurnContext`. Every message is appended to the session before it is yielded.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio

from tether._background import Background
from tether.agent.compaction import CompactJob, compact_command
from tether.agent.context_window import is_prompt_too_long
from tether.agent.run_costs import RunCosts
from tether.agent.steps import current_steps
from tether.agent.tool_runner import ToolOutcome
from tether.agent.tracing import run_trace
from tether.agent.turn_context import TurnContext
from tether.errors import ModelError
from tether.messages import (
    AssistantMessage,
    Message,
    RateLimitEvent,
    RateLimitInfo,
    ResultMessage,
    StreamEvent,
    UserMessage,
    blocks_from_content,
)
from tether.models.base import (
    Model,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    RateLimited,
    RawStreamEvent,
    ToolSpec,
)
from tether.models.guard import guarded_stream
from tether.models.settings import structured_output, structured_output_retry_prompt
from tether.sessions.entries import json_problem, make_meta_entry, new_uuid
from tether.sessions.follow import result_entry
from tether.sessions.session import INTERRUPTED_TOOL_RESULT
from tether.tools.agent import AGENT_TOOL_NAMES

__all__ = ["INTERRUPTED", "INTERRUPTED_FOR_TOOL_USE", "Turn", "TurnContext"]

DEFAULT_MAX_TOKENS = 8192
STRUCTURED_OUTPUT_RETRIES = 1
"""How often a final answer that does not match `output_format`'s schema is asked for again."""


class Turn:
    """The state of one prompt's run: counters, usage, denials."""

    def __init__(self, context: TurnContext) -> None:
        self.context = context
        self.session = context.session
        self.options = context.options
        self.started = time.monotonic()
        self.timeouts = context.timeouts.for_run()
        self.num_turns = 0
        self.denials: list[dict[str, Any]] = []
        self.costs = RunCosts(self.session.totals)
        self.tooling = context.tooling
        self.runner = context.tooling.runner(Path(self.session.cwd), self.session.session_id, self.session.state)
        self.trace = self.runner.trace = run_trace(self.options, self.session, context.model(), context.agent_name)
        self.partial: list[dict[str, Any]] | None = None
        """The raw events of the model reply being streamed (None when no reply is streaming)."""
        self.structured_retries = 0
        """Final answers asked for again because they did not match `output_format`'s schema."""
        self.last_text: str | None = None
        """The text of the latest reply that had some (the run's `result`)."""
        self.stop_hook_active = False
        """True once a Stop hook made the agent go on."""
        self.compaction: CompactJob | None = None
        """The run's latest compaction (attempt)."""

    async def run(self, prompt: str | list[dict[str, Any]]) -> AsyncIterator[Message]:
        instructions = compact_command(prompt, verbatim=self.options.verbatim_prompts)
        if instructions is not None:  # `/compact [instructions]`: compact now, no model turn
            async for message in self._compact_now(instructions):
                yield message
            return
        ended = False
        async for message in self._open(prompt):
            ended = isinstance(message, ResultMessage)
            yield message
        if not ended:
            async for message in self._turns():
                yield message

    async def _open(self, prompt: str | list[dict[str, Any]]) -> AsyncIterator[Message]:
        """Prompt hooks, a call the last run deferred, then the prompt stored (ends with a
        `ResultMessage` when the run ends here)."""
        prepared = await self.tooling.prepare_prompt(prompt)  # SessionStart and UserPromptSubmit hooks
        if prepared.blocked is not None:
            yield await self._result("error_during_execution", errors=[prepared.blocked])
            return
        deferred_call = await self.tooling.reopen_deferred()  # a call deferred by the last run goes first
        if deferred_call is not None:
            outcomes: list[ToolOutcome] = []
            async for message in self._run_calls([deferred_call], outcomes, deferred=True):  # a subagent's messages
                yield message
            if outcomes[0].deferred is not None:
                yield await self._deferred(outcomes[0])
                return
            yield await self._store_tool_results(outcomes)
            if outcomes[0].interrupt:
                yield await self._result("error_during_execution", errors=[outcomes[0].stop_reason or "interrupted"])
                return
        entry = await self.session.append_message("user", {"role": "user", "content": prepared.prompt})
        if self.tooling.checkpoints is not None:
            self.tooling.checkpoints.start_prompt(entry)
        if self.context.echoes_prompts:  # extra_args={"replay-user-messages": None}, as the CLI does
            yield UserMessage(content=blocks_from_content(prepared.prompt), uuid=entry["uuid"])

    async def _turns(self) -> AsyncIterator[Message]:
        """Model turns until the run ends (with a `ResultMessage`)."""
        while True:
            stopped = self._stopped()  # interrupted, or past run_timeout
            if stopped is not None:
                yield await self._result("error_during_execution", errors=[stopped])
                return
            if self.options.max_turns is not None and self.num_turns >= self.options.max_turns:
                yield await self._result("error_max_turns", errors=[f"reached max_turns ({self.options.max_turns})"])
                return
            self.num_turns += 1
            response: ModelResponse | None = None
            try:
                async for event in self._call_model():
                    if isinstance(event, ModelResponse):
                        response = event
                    else:
                        yield event
            except ModelError as error:
                yield await self._model_failed(error)
                return
            assert response is not None
            self._count(response)
            yield await self._store_assistant(response)
            texts = [b.get("text", "") for b in response.content if b.get("type") == "text"]
            if texts:
                self.last_text = "".join(texts)
            calls = [b for b in response.content if b.get("type") == "tool_use"]
            if not calls and response.stop_reason == "pause_turn":
                continue  # a server tool paused the turn: sending the reply back lets the model go on
            ended = False
            async for message in self._final(response, texts) if not calls else self._use_tools(calls):
                ended = isinstance(message, ResultMessage)
                yield message
            if ended:
                return

    async def _final(self, response: ModelResponse, texts: list[str]) -> AsyncIterator[Message]:
        """A reply without tool calls: the answer asked for again (structured output), a Stop hook
        that makes the agent go on, or the run's `ResultMessage`."""
        value, violation = self._structured_output(texts)
        if violation is not None:
            if self.structured_retries < STRUCTURED_OUTPUT_RETRIES:
                self.structured_retries += 1
                yield await self._ask_for_structured_output(violation)
                return
            yield await self._structured_output_failed(violation)
            return
        feedback = await self.tooling.stop_feedback(self.stop_hook_active)  # a Stop hook may say go on
        if feedback is not None:
            self.stop_hook_active = True
            entry = await self.session.append_message("user", {"role": "user", "content": feedback})
            yield UserMessage(content=feedback, uuid=entry["uuid"])
            return
        yield await self._result(
            "success", text=self.last_text, stop_reason=response.stop_reason, structured_output=value
        )

    async def _use_tools(self, calls: list[dict[str, Any]]) -> AsyncIterator[Message]:
        """Run the reply's tool calls and store their results (a `ResultMessage` when the run ends)."""
        outcomes: list[ToolOutcome] = []
        async for message in self._run_calls(calls, outcomes):  # subagents' messages, as they come
            yield message
        if outcomes[0].deferred is not None:  # a PreToolUse hook deferred the (only) call
            yield await self._deferred(outcomes[0])
            return
        yield await self._store_tool_results(outcomes)
        if any(outcome.interrupt for outcome in outcomes):
            reason = next((o.stop_reason for o in outcomes if o.stop_reason), "a tool call was denied with interrupt")
            yield await self._result("error_during_execution", errors=[reason])
            return
        budget = self.options.max_budget_usd
        if self.costs.reached(budget):
            yield await self._result("error_max_budget_usd", errors=[f"reached max_budget_usd ({budget})"])

    async def _run_calls(
        self, calls: list[dict[str, Any]], outcomes: list[ToolOutcome], *, deferred: bool = False
    ) -> AsyncIterator[Message]:
        """Run the calls (the one a past run `deferred`) into `outcomes`; while Agent calls run,
        yield their subagents' messages."""

        async def run_all() -> list[ToolOutcome]:
            return [await self.runner.run_deferred(calls[0])] if deferred else await self._run_all(calls)

        host = self.context.subagents
        if host is None or not any(call.get("name") in AGENT_TOOL_NAMES for call in calls):
            outcomes.extend(await run_all())
            return
        send, receive = anyio.create_memory_object_stream[Message](math.inf)
        failed: list[Exception] = []

        async def run() -> None:
            with send, host.delegating(send, self.costs.add_result):
                try:
                    outcomes.extend(await run_all())
                except Exception as error:  # raised below, in the run's own task
                    failed.append(error)

        # A task of its own, not a task group around `yield`: a caller that stops reading this
        # generator (and has it closed from another task) must not have its own task cancelled.
        calls_task = Background.start(run)
        finished = False
        try:
            with receive:
                async for message in receive:
                    yield message
            finished = True
        finally:
            if not finished:
                calls_task.cancel()
            with anyio.CancelScope(shield=True):
                await calls_task.wait()
        if failed:
            raise failed[0]

    async def _run_all(self, calls: list[dict[str, Any]]) -> list[ToolOutcome]:
        lease = self.context.lease
        if lease is None:
            return await self.runner.run_all(calls)
        # tool calls may run for minutes: the lease is renewed meanwhile
        return await lease.during(lambda: self.runner.run_all(calls))

    async def _model_failed(self, error: ModelError) -> ResultMessage:
        """The run's end after a failed model call (`terminal_reason` `prompt_too_long` for that)."""
        problem = self.compaction.problem if self.compaction is not None else None
        errors = [str(error)] + ([problem] if problem and is_prompt_too_long(error) else [])
        result = await self._result("error_during_execution", errors=errors, api_status=error.status_code)
        if is_prompt_too_long(error):
            result.terminal_reason = "prompt_too_long"
        return result

    # -- compaction (tether.agent.compaction) --

    async def _call_model(self) -> AsyncIterator[Message | ModelResponse]:
        """One model call, compacted first when the request would reach the threshold, and compacted
        and made once more when the provider says the prompt is too long."""
        compactor = self.context.compactor
        request = self._request()
        estimate = compactor.request_tokens(request)
        tokens = compactor.meter.tokens(estimate)
        if compactor.due(tokens):
            async for message in self._compact("auto", None, request, tokens):
                yield message
            request = self._request()
            estimate = compactor.request_tokens(request)
        try:
            async for event in self._stream_model(request, estimate):
                yield event
            return
        except ModelError as error:
            if self.partial or not compactor.recovers(error, estimate):
                raise
            too_long = error
        async for message in self._compact("auto", None, request, compactor.meter.tokens(estimate)):
            yield message
        if self.compaction is None or not self.compaction.done:
            raise too_long
        request = self._request()
        async for event in self._stream_model(request, compactor.request_tokens(request)):
            yield event

    async def _compact(
        self, trigger: str, instructions: str | None, request: ModelRequest, tokens: int
    ) -> AsyncIterator[Message]:
        """Compact the session (see `Compactor.run`) before `request` (of `tokens` tokens); the summary
        calls count as the run's."""
        context = self.context
        job = CompactJob(
            session=self.session,
            model=context.model(),
            settings=context.settings,
            hooks=self.tooling.hooks,
            trigger=trigger,
            instructions=instructions,
            pre_tokens=tokens,
            system=request.system,
            tools=request.tools,
            call=self._summary_call,
        )
        self.compaction = job
        try:
            async for message in context.compactor.run(job):
                yield message
        finally:
            for response in job.responses:
                self._count(response)
            self.costs.api_seconds += job.api_seconds

    async def _compact_now(self, instructions: str) -> AsyncIterator[Message]:
        """`/compact [instructions]`: compact at once; the `ResultMessage` says whether it did."""
        request = self._request()
        tokens = self.context.compactor.meter.tokens(self.context.compactor.request_tokens(request))
        async for message in self._compact("manual", instructions or None, request, tokens):
            yield message
        job = self.compaction
        if job is not None and job.done:
            yield await self._result("success", text="Compacted")
        else:
            yield await self._result(
                "error_during_execution", errors=[job.problem if job and job.problem else "not compacted"]
            )

    async def _summary_call(self, model: Model, request: ModelRequest) -> ModelResponse:
        """One summary call, held to the run's timeouts like every model call."""
        response: ModelResponse | None = None
        timed = dataclasses.replace(request, timeouts=self.timeouts)
        async for event in current_steps().model_call(lambda: guarded_stream(model, timed)):
            await self._keep_lease()
            if isinstance(event, ModelResponse):
                response = event
        if response is None:
            raise ModelError(f"the model {model.model_name!r} ended its stream without a response")
        return response

    async def _keep_lease(self) -> None:
        """Renew the session's lease when due (a streaming reply renews it as it goes)."""
        if self.context.lease is not None:
            await self.context.lease.keep_alive()

    def _stopped(self) -> str | None:
        """Why the run must stop before its next model call, if it must."""
        if self.context.interrupted():
            return "the run was interrupted"
        return self.timeouts.run_expired_message() if self.timeouts.run_expired() else None

    def _request(self) -> ModelRequest:
        """The next model request: the session's history, system prompt, tools and settings."""
        context, session = self.context, self.session
        return ModelRequest(
            messages=list(session.messages),  # providers treat the request as read-only: no deep copy
            system=context.system_prompt,
            tools=[ToolSpec(t.name, t.description, t.input_schema) for t in context.tools.values()],
            max_tokens=self.options.max_tokens or _default_max_tokens(context.settings),
            session_id=session.session_id,
            settings=context.settings,
            timeouts=self.timeouts,
        )

    async def _stream_model(
        self, request: ModelRequest, estimate: int
    ) -> AsyncIterator[StreamEvent | RateLimitEvent | ModelResponse]:
        """Stream one model call (`estimate`: the request's estimated tokens, for the context meter)."""
        context, session = self.context, self.session
        model = context.model()
        started = time.monotonic()
        response: ModelResponse | None = None
        self.partial = partial = []
        try:
            # typed errors, a valid response, in time; a step of a durable turn (tether.agent.steps), in its span
            stream = current_steps().model_call(lambda: guarded_stream(model, request))
            async for event in self.trace.chat(stream, model, request):
                await self._keep_lease()
                if isinstance(event, RawStreamEvent):
                    partial.append(event.event)
                    if self.options.include_partial_messages:
                        yield StreamEvent(uuid=new_uuid(), session_id=session.session_id, event=event.event)
                elif isinstance(event, RateLimited):
                    yield _rate_limit_event(event, session.session_id)
                elif isinstance(event, ModelResponse):
                    response = event
        finally:
            self.costs.api_seconds += time.monotonic() - started
        self.partial = None
        if response is None:
            raise ModelError(f"the model {model.model_name!r} ended its stream without a response")
        problem = json_problem(response.content)  # checked before it is stored: it must go back to the model
        if problem is not None:
            raise ModelError(f"the model {model.model_name!r} replied with content that cannot be sent back: {problem}")
        context.compactor.meter.observe(estimate, response)  # the provider's count of the context
        yield response

    async def close_interrupted(self) -> list[Message]:
        """See `Agent.close_interrupted` (`tether.agent.loop`)."""
        session = self.session
        partial = _partial_text(self.partial or [])
        in_tools = bool(_unanswered_calls(session.messages))
        await self._resync()
        messages: list[Message] = []
        if partial:
            text = [{"type": "text", "text": partial}]
            cut = ModelResponse(content=text, model=self.context.model().model_name, stop_reason=None)
            messages.append(await self._store_assistant(cut))
        marker = INTERRUPTED_FOR_TOOL_USE if in_tools else INTERRUPTED
        await session.append_message("user", {"role": "user", "content": [{"type": "text", "text": marker}]})
        result = await self._result("error_during_execution", errors=[marker])
        result.terminal_reason = "aborted_tools" if in_tools else "aborted_streaming"
        messages.append(result)
        return messages

    async def _resync(self) -> None:
        """After a cut, read the session back: a write in flight may or may not have landed.

        Tool calls left without a result get an error result (as on every resume).
        """
        session = self.session
        if session.store is not None:
            await session.reload()
            return
        calls = _unanswered_calls(session.messages)
        if calls:
            closed = {"type": "tool_result", "content": INTERRUPTED_TOOL_RESULT, "is_error": True}
            results = [{**closed, "tool_use_id": c.get("id")} for c in calls]
            await session.append_message("user", {"role": "user", "content": results})

    def _structured_output(self, texts: list[str]) -> tuple[Any, str | None]:
        """The structured output of a final answer, or what is wrong with it (None, None without a schema)."""
        schema = self.context.settings.output_schema
        return (None, None) if schema is None else structured_output("".join(texts), schema)

    async def _ask_for_structured_output(self, violation: str) -> UserMessage:
        """Tell the model what is wrong with its answer; the turn goes on."""
        schema = self.context.settings.output_schema or {}
        content = [{"type": "text", "text": structured_output_retry_prompt(violation, schema)}]
        entry = await self.session.append_message("user", {"role": "user", "content": content})
        return UserMessage(content=blocks_from_content(content), uuid=entry["uuid"])

    async def _structured_output_failed(self, violation: str) -> ResultMessage:
        answers = self.structured_retries + 1
        error = f"the answer does not match the schema of output_format after {answers} answers: {violation}"
        result = await self._result("error_max_structured_output_retries", errors=[error])
        result.terminal_reason = "structured_output_retry_exhausted"
        return result

    async def _deferred(self, outcome: ToolOutcome) -> ResultMessage:
        """End the run at a deferred call; the session keeps it for its next run (see tool_runner)."""
        failed = outcome.deferred_unavailable
        errors = [str(outcome.result["content"])] if failed else None
        subtype = "error_during_execution" if failed else "success"
        result = await self._result(subtype, errors=errors, stop_reason=outcome.stop_reason)
        return await self.tooling.record_deferral(result, outcome)

    def _count(self, response: ModelResponse) -> None:
        self.costs.count(response, self.context.settings.betas)

    async def _store_assistant(self, response: ModelResponse) -> AssistantMessage:
        message_id = response.id or f"msg_{new_uuid().replace('-', '')[:24]}"
        message: dict[str, Any] = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": response.model,
            "content": response.content,
            "stop_reason": response.stop_reason,
            "stop_sequence": None,
            "usage": response.usage,
        }
        entry = await self.session.append_message("assistant", message)
        self.trace.stored(entry)
        content = blocks_from_content(response.content)
        return AssistantMessage(
            content=content if isinstance(content, list) else [],
            model=response.model,
            usage=dict(response.usage),
            message_id=message_id,
            stop_reason=response.stop_reason,
            session_id=self.session.session_id,
            uuid=entry["uuid"],
        )

    async def _store_tool_results(self, outcomes: list[ToolOutcome]) -> UserMessage:
        self.denials.extend(o.denial for o in outcomes if o.denial is not None)
        blocks = [o.result for o in outcomes]
        structured = [o.tool_use_result for o in outcomes]
        tool_use_result = structured[0] if len(structured) == 1 else structured
        entry = await self.session.append_message(
            "user", {"role": "user", "content": blocks}, toolUseResult=tool_use_result
        )
        content = blocks_from_content(blocks)
        return UserMessage(
            content=content,
            uuid=entry["uuid"],
            tool_use_result=tool_use_result if isinstance(tool_use_result, dict) else None,
        )

    async def _result(
        self,
        subtype: str,
        *,
        text: str | None = None,
        errors: list[str] | None = None,
        stop_reason: str | None = None,
        api_status: int | None = None,
        structured_output: Any = None,
    ) -> ResultMessage:
        session = self.session
        state = make_meta_entry(
            "cost-state",
            session_id=session.session_id,
            **self.costs.totals(),
        )
        is_error = subtype != "success"
        result = ResultMessage(
            subtype=subtype,
            duration_ms=int((time.monotonic() - self.started) * 1000),
            duration_api_ms=int(self.costs.api_seconds * 1000),
            is_error=is_error,
            num_turns=self.num_turns,
            session_id=session.session_id,
            stop_reason=stop_reason,
            total_cost_usd=self.costs.cost,
            usage=dict(self.costs.usage),
            result=text if not is_error else "; ".join(errors or []),
            structured_output=structured_output,
            model_usage=self.costs.per_model(),
            permission_denials=list(self.denials),
            errors=list(errors or []),
            api_error_status=api_status,
            uuid=new_uuid(),
        )
        await session.append_entries([state, result_entry(result)])  # the turn's end, for followers
        session.totals = self.costs.totals()
        self.trace.finish(result)
        return result


INTERRUPTED = "[Request interrupted by user]"
"""The user entry that marks a reply cut by an interrupt (Claude Code's words)."""
INTERRUPTED_FOR_TOOL_USE = "[Request interrupted by user for tool use]"
"""The user entry that marks tool calls cut by an interrupt."""


def _default_max_tokens(settings: ModelSettings) -> int:
    """Room for a reply of the default size after a fixed thinking budget, which counts toward it."""
    budget = settings.thinking.get("budget_tokens") if settings.thinking is not None else None
    return DEFAULT_MAX_TOKENS + budget if isinstance(budget, int) else DEFAULT_MAX_TOKENS


def _rate_limit_event(event: RateLimited, session_id: str) -> RateLimitEvent:
    """The SDK's `RateLimitEvent` of a provider's 429: the limit is hit (`rejected`) until `resets_at`."""
    raw: dict[str, Any] = {"headers": dict(event.headers), "retry_after": event.retry_after}
    info = RateLimitInfo(status="rejected", resets_at=event.resets_at, raw=raw)
    return RateLimitEvent(rate_limit_info=info, uuid=new_uuid(), session_id=session_id)


def _partial_text(events: list[dict[str, Any]]) -> str:
    """The text a cut stream had delivered (text only: a half-streamed tool call is dropped)."""
    deltas = (e.get("delta") for e in events if e.get("type") == "content_block_delta")
    return "".join(str(d.get("text", "")) for d in deltas if isinstance(d, dict) and d.get("type") == "text_delta")


def _unanswered_calls(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tool calls of the last message when it is an assistant message (so not answered yet)."""
    if not messages or messages[-1].get("role") != "assistant":
        return []
    return [b for b in messages[-1].get("content", []) if isinstance(b, dict) and b.get("type") == "tool_use"]
