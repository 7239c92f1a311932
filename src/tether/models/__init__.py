"""Model providers behind one protocol, and `resolve_model` which picks one from a name.

| model string                      | provider                                         |
|-----------------------------------|--------------------------------------------------|
| `claude-*`, `anthropic:NAME`      | `tether.models.anthropic.AnthropicModel`         |
| `openai:NAME`                     | `tether.models.openai.OpenAIModel` (any OpenAI-compatible server) |
| `local:smollm2`, `local:`         | `tether.models.local.LocalModel` (embedded, offline; extra `local`) |
| `PREFIX:NAME`                     | a provider of your own, added with `register_provider(PREFIX, "module:Class")` |

With no model: `TETHER_MODEL` if set, else `claude-sonnet-5-5` when an Anthropic key is set, else
the embedded local model. Provider modules are imported only when used.

What a run asks of the model besides the conversation (structured output, thinking, effort,
betas, task budget, app label) travels as `ModelRequest.settings` (`tether.models.settings`); a
provider that cannot honour one says so at run start (`check_settings`).
"""

from __future__ import annotations

from tether.models.base import (
    Model,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    RateLimited,
    RawStreamEvent,
    ToolSpec,
)
from tether.models.fallback import FallbackModel
from tether.models.registry import (
    DEFAULT_ANTHROPIC_MODEL,
    MODEL_ALIASES,
    PROVIDERS,
    parse_model,
    register_provider,
    resolve_model,
    unalias,
)

__all__ = [
    "DEFAULT_ANTHROPIC_MODEL",
    "MODEL_ALIASES",
    "PROVIDERS",
    "FallbackModel",
    "Model",
    "ModelEvent",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "RateLimited",
    "RawStreamEvent",
    "ToolSpec",
    "parse_model",
    "register_provider",
    "resolve_model",
    "unalias",
]
