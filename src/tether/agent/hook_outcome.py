"""What the hooks of one event said, merged (`HookOutcome`), and the check of a callback's output
(`output_problem`): the decisions, blocks, context and replaced output the agent acts on."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["HookOutcome", "PermissionDecisionValue", "output_problem"]

_NO_OUTPUT = object()
PermissionDecisionValue = Literal["allow", "deny", "ask", "defer"]
_DECISION_RANK: dict[str, int] = {"allow": 1, "ask": 2, "defer": 3, "deny": 4}


def _specific_problem(event: str, specific: Any) -> str | None:
    if not isinstance(specific, Mapping):
        return f"its hookSpecificOutput is {type(specific).__name__}, not a dict"
    named = specific.get("hookEventName")
    if named is not None and named != event:
        return f"it returned hookSpecificOutput for {named}"
    if event == "PreToolUse":
        decision = specific.get("permissionDecision")
        if decision is not None and decision not in _DECISION_RANK:
            return f"unknown permissionDecision {decision!r}"
        if "updatedInput" in specific and not isinstance(specific["updatedInput"], Mapping):
            return "updatedInput is not a dict"
    if event == "PermissionRequest":
        decision = specific.get("decision")
        if not isinstance(decision, Mapping) or decision.get("behavior") not in ("allow", "deny"):
            return f"decision must be a dict with behavior 'allow' or 'deny', not {decision!r}"
    return None


def output_problem(event: str, output: Any) -> str | None:
    """What makes a callback's output unusable for `event` (None when it is fine)."""
    if not isinstance(output, Mapping):
        return f"it returned {type(output).__name__}, not a dict"
    if output.get("decision") not in (None, "block", "approve"):
        return f"unknown decision {output.get('decision')!r}"
    if output.get("hookSpecificOutput") is not None:
        return _specific_problem(event, output["hookSpecificOutput"])
    return None


@dataclass
class HookOutcome:
    """All matching callbacks' outputs for one event, merged."""

    continue_: bool = True
    """False when a hook asked to stop the run."""
    stop_reason: str | None = None
    blocked: bool = False
    """True when a hook returned `decision: "block"` (or failed under `on_failure="block"`)."""
    reasons: list[str] = field(default_factory=list)
    """The `reason`s given with blocks."""
    permission_decision: PermissionDecisionValue | None = None
    permission_decision_reason: str | None = None
    updated_input: dict[str, Any] | None = None
    permission_request: dict[str, Any] | None = None
    """PermissionRequest: the winning `decision` (`deny` over `allow`)."""
    additional_context: list[str] = field(default_factory=list)
    system_messages: list[str] = field(default_factory=list)
    suppress_output: bool = False
    updated_tool_output: Any = _NO_OUTPUT
    errors: list[str] = field(default_factory=list)
    """Callbacks that raised, timed out or returned something unusable."""

    @property
    def reason(self) -> str | None:
        """The block reasons as one text (None when there are none)."""
        return "\n".join(self.reasons) if self.reasons else None

    @property
    def context(self) -> str | None:
        """The additional context of all hooks as one text (None when there is none)."""
        return "\n\n".join(self.additional_context) if self.additional_context else None

    @property
    def has_updated_tool_output(self) -> bool:
        """True when a PostToolUse hook replaced the tool's output."""
        return self.updated_tool_output is not _NO_OUTPUT

    def merge(self, event: str, output: Mapping[str, Any]) -> None:
        """Fold one callback's (valid, see `output_problem`) output into the outcome."""
        if output.get("async_") or output.get("async"):
            return
        if output.get("continue_", output.get("continue", True)) is False:
            self.continue_ = False
            self.stop_reason = output.get("stopReason") or self.stop_reason
        if output.get("suppressOutput"):
            self.suppress_output = True
        if output.get("systemMessage"):
            self.system_messages.append(str(output["systemMessage"]))
        decision = output.get("decision")
        if decision == "block":
            self.block(event, output.get("reason"))
        elif decision == "approve" and event == "PreToolUse":
            self._decide("allow", output.get("reason"))
        specific = output.get("hookSpecificOutput")
        if isinstance(specific, Mapping):
            self._merge_specific(event, specific)

    def block(self, event: str, reason: Any) -> None:
        """A block: a denial for PreToolUse and PermissionRequest, a `blocked` outcome for the rest."""
        self.blocked = True
        if reason:
            self.reasons.append(str(reason))
        if event == "PreToolUse":
            self._decide("deny", reason)
        elif event == "PermissionRequest":
            self._request({"behavior": "deny", "message": str(reason or "blocked by a PermissionRequest hook")})

    def _merge_specific(self, event: str, specific: Mapping[str, Any]) -> None:
        if specific.get("additionalContext"):
            self.additional_context.append(str(specific["additionalContext"]))
        if event == "PreToolUse":
            decision = specific.get("permissionDecision")
            if decision is not None:
                self._decide(decision, specific.get("permissionDecisionReason"))
            if isinstance(specific.get("updatedInput"), Mapping):
                self.updated_input = dict(specific["updatedInput"])
        elif event == "PermissionRequest":
            self._request(specific["decision"])
        elif event in ("PostToolUse", "PostToolUseFailure"):
            for key in ("updatedToolOutput", "updatedMCPToolOutput"):
                if key in specific:
                    self.updated_tool_output = specific[key]

    def _decide(self, decision: PermissionDecisionValue, reason: Any) -> None:
        current = _DECISION_RANK.get(self.permission_decision or "", 0)
        if _DECISION_RANK[decision] >= current:
            if _DECISION_RANK[decision] > current or self.permission_decision_reason is None:
                self.permission_decision_reason = str(reason) if reason else None
            self.permission_decision = decision

    def _request(self, decision: Mapping[str, Any]) -> None:
        if self.permission_request is None or self.permission_request.get("behavior") != "deny":
            self.permission_request = dict(decision)
