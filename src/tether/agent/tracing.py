"""OpenTelemetry spans of a run, in the GenAI semantic conventions, through `opentelemetry-api` only.

tether configures no SDK and no exporter: spans go to the tracer provider the application set
(globally, or `AgentOptions.tracer_provider`), and nowhere when it set none. A run costs nothing
more when there is none: `opentelemetry` is not even imported unless the application imported it
already or passed `tracer_provider=`, and a global provider that is still the API's proxy counts
as none.

Spans, nested in one trace: `invoke_agent {agent}` per run (a child of the span current when the
run starts, so a subagent's run sits under its Agent call), `chat {model}` per model call and
`execute_tool {name}` per tool call under it. Attributes: `gen_ai.operation.name`,
`gen_ai.provider.name`, `gen_ai.agent.name`, `gen_ai.conversation.id` (the session id),
`gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.response.id`,
`gen_ai.response.finish_reasons`, `gen_ai.usage.*`, `gen_ai.tool.name`, `gen_ai.tool.call.id`,
`error.type`, and tether's `tether.entry.uuid` (the stored assistant entry of a model call, or
holding a tool call) and `tether.result.uuid` (the run's `ResultMessage`). Message content
(`gen_ai.input.messages`, `gen_ai.output.messages`, `gen_ai.system_instructions`,
`gen_ai.tool.call.arguments`, `gen_ai.tool.call.result`) only with the standard opt-in,
`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`. A failed model call, a failed tool
call and a run that ends in error set `error.type` and the span status ERROR.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from tether.models.base import Model, ModelRequest, ModelResponse
from tether.tools.base import ToolResult

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

    from tether.messages import ResultMessage
    from tether.options import AgentOptions
    from tether.sessions.session import Session

__all__ = ["CAPTURE_CONTENT_ENV", "NO_TRACE", "RunTrace", "run_trace"]

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""The standard opt-in for message content on GenAI spans (`true`)."""

_T = TypeVar("_T")
_E = TypeVar("_E")
_PROVIDERS = {"tether.models.anthropic": "anthropic", "tether.models.openai": "openai", "tether.models.local": "local"}


class RunTrace:
    """The spans of one run; this base class is the run without a tracer: every wrapper passes through."""

    def chat(self, stream: AsyncIterator[_E], model: Model, request: ModelRequest) -> AsyncIterator[_E]:
        """`stream` (one call of `model`'s), inside a `chat {model}` span (untraced: `stream` itself)."""
        return stream

    def stored(self, entry: dict[str, Any]) -> None:
        """The model call's reply was stored as `entry`: its span names it and ends."""

    async def tool(self, call: Awaitable[_T], name: str, tool_use_id: str, arguments: dict[str, Any]) -> _T:
        """Await `call` (one tool's run) inside an `execute_tool {name}` span, the current one meanwhile."""
        return await call

    def finish(self, result: ResultMessage) -> None:
        """The run ended with `result`: its span records the totals and ends."""

    def close(self) -> None:
        """The run is over, whatever happened: its span ends if `finish` did not end it."""


NO_TRACE = RunTrace()
"""The trace of a run nobody traces."""


def run_trace(options: AgentOptions, session: Session, model: Model, agent_name: str = "tether") -> RunTrace:
    """The trace of a run starting now (`NO_TRACE` when no tracer provider is set)."""
    provider = options.tracer_provider
    if provider is None:
        if "opentelemetry.trace" not in sys.modules:  # the application does no tracing: neither do we
            return NO_TRACE
        from opentelemetry import trace

        provider = trace.get_tracer_provider()
        if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
            return NO_TRACE
    from tether._version import __version__

    return _Traced(provider.get_tracer("tether", __version__), session, model, agent_name)


class _Traced(RunTrace):
    """A traced run: its `invoke_agent` span, open from its start to its end."""

    def __init__(self, tracer: Tracer, session: Session, model: Model, agent_name: str) -> None:
        from opentelemetry import context, trace

        self._trace = trace
        self._tracer = tracer
        self._session = session
        self._content = os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() == "true"
        self._provider = provider_name(model)
        self._common = {"gen_ai.provider.name": self._provider, "gen_ai.conversation.id": session.session_id}
        attributes = {
            **self._common,
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent_name,
            "gen_ai.request.model": model.model_name,
        }
        self._span = tracer.start_span(
            f"invoke_agent {agent_name}", context.get_current(), trace.SpanKind.INTERNAL, attributes
        )
        self._inside: Context = trace.set_span_in_context(self._span)
        self._pending: Span | None = None

    async def chat(self, stream: AsyncIterator[_E], model: Model, request: ModelRequest) -> AsyncIterator[_E]:
        self._end_pending()
        name = model.model_name
        attributes: dict[str, Any] = {**self._common, "gen_ai.operation.name": "chat", "gen_ai.request.model": name}
        if self._content:
            attributes["gen_ai.input.messages"] = _json(request.messages)
            attributes["gen_ai.system_instructions"] = _json(request.system)
        span = self._tracer.start_span(f"chat {name}", self._inside, self._trace.SpanKind.CLIENT, attributes)
        try:
            async for event in stream:
                if isinstance(event, ModelResponse):
                    self._replied(span, event)
                yield event
        except BaseException as error:
            self._fail(span, error)
            span.end()
            raise
        self._pending = span  # ended once its reply is stored (`stored`), naming the entry

    def _replied(self, span: Span, response: ModelResponse) -> None:
        usage = response.usage or {}
        cached = _count(usage, "cache_read_input_tokens")
        created = _count(usage, "cache_creation_input_tokens")
        span.set_attributes(
            {
                "gen_ai.response.model": response.model or "",
                "gen_ai.response.id": response.id or "",
                "gen_ai.response.finish_reasons": [response.stop_reason or ""],
                "gen_ai.usage.input_tokens": _count(usage, "input_tokens") + cached + created,
                "gen_ai.usage.output_tokens": _count(usage, "output_tokens"),
                "gen_ai.usage.cache_read.input_tokens": cached,
                "gen_ai.usage.cache_creation.input_tokens": created,
            }
        )
        if self._content:
            span.set_attribute("gen_ai.output.messages", _json([{"role": "assistant", "content": response.content}]))

    def stored(self, entry: dict[str, Any]) -> None:
        if self._pending is not None and isinstance(entry.get("uuid"), str):
            self._pending.set_attribute("tether.entry.uuid", entry["uuid"])
        self._end_pending()

    def _end_pending(self) -> None:
        if self._pending is not None:
            self._pending.end()
            self._pending = None

    async def tool(self, call: Awaitable[_T], name: str, tool_use_id: str, arguments: dict[str, Any]) -> _T:
        attributes: dict[str, Any] = {
            **self._common,
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": tool_use_id,
            "tether.entry.uuid": self._session.parent_uuid or "",  # the stored reply that made the call
        }
        if self._content:
            attributes["gen_ai.tool.call.arguments"] = _json(arguments)
        span = self._tracer.start_span(f"execute_tool {name}", self._inside, self._trace.SpanKind.INTERNAL, attributes)
        with self._trace.use_span(span, end_on_exit=True, record_exception=False, set_status_on_exception=False):
            try:
                outcome = await call
            except BaseException as error:
                self._fail(span, error)
                raise
            if isinstance(outcome, ToolResult):
                if outcome.is_error:
                    self._fail(span, None, "tool_error")
                if self._content:
                    span.set_attribute("gen_ai.tool.call.result", _json(outcome.content))
            return outcome

    def finish(self, result: ResultMessage) -> None:
        if not self._span.is_recording():
            return
        self._end_pending()
        usage = result.usage or {}
        cached = _count(usage, "cache_read_input_tokens") + _count(usage, "cache_creation_input_tokens")
        self._span.set_attributes(
            {
                "gen_ai.usage.input_tokens": _count(usage, "input_tokens") + cached,
                "gen_ai.usage.output_tokens": _count(usage, "output_tokens"),
                "tether.result.uuid": result.uuid or "",
                "tether.result.subtype": result.subtype,
                "tether.num_turns": result.num_turns,
            }
        )
        if result.total_cost_usd is not None:
            self._span.set_attribute("tether.cost_usd", result.total_cost_usd)
        if result.is_error:
            self._fail(self._span, None, result.subtype, "; ".join(result.errors or []))
        self._span.end()

    def close(self) -> None:
        self._end_pending()
        if self._span.is_recording():
            self._fail(self._span, None, "incomplete", "the run ended without a result")
            self._span.end()

    def _fail(self, span: Span, error: BaseException | None, kind: str = "", description: str = "") -> None:
        kind = kind or _error_type(error)
        span.set_attribute("error.type", kind)
        span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, description or str(error or kind)))
        if isinstance(error, Exception):
            span.record_exception(error)


def provider_name(model: Model) -> str:
    """`gen_ai.provider.name` of a model: `anthropic`, `openai`, `local`, else its class's top module."""
    module = type(model).__module__
    return _PROVIDERS.get(module, module.split(".", 1)[0])


def _error_type(error: BaseException | None) -> str:
    if error is None:
        return "error"
    import anyio

    if isinstance(error, anyio.get_cancelled_exc_class() | GeneratorExit):
        return "cancelled"
    return type(error).__qualname__


def _count(usage: Any, key: str) -> int:
    value = usage.get(key) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
