"""register_provider: a provider of your own picked by its prefix in a model string."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from tether import AgentOptions, ResultMessage
from tether.errors import ConfigurationError
from tether.models import PROVIDERS, register_provider, resolve_model
from tether.models.http_provider import HTTPModel
from tether.testing import ScriptedModel, run_query


class AcmeModel(ScriptedModel):
    """A third party's provider: configured from the run's environment."""

    @classmethod
    def from_env(cls, name: str, env: Mapping[str, str]) -> AcmeModel:
        greeting = env.get("ACME_GREETING")
        if greeting is None:
            raise ConfigurationError("the acme provider needs ACME_GREETING")
        return cls([f"{greeting} from {name}"], model_name=f"acme-{name}")


@pytest.fixture(autouse=True)
def registry() -> Iterator[None]:
    saved = dict(PROVIDERS)
    yield
    PROVIDERS.clear()
    PROVIDERS.update(saved)


def test_a_registered_prefix_resolves_to_its_provider() -> None:
    register_provider("acme", f"{__name__}:AcmeModel")
    model = resolve_model("acme:large-2", env={"ACME_GREETING": "hello"})
    assert isinstance(model, AcmeModel) and model.model_name == "acme-large-2"
    with pytest.raises(ConfigurationError, match="ACME_GREETING"):
        resolve_model("acme:large-2", env={})


@pytest.mark.anyio
async def test_a_run_names_a_registered_provider_by_its_model_string() -> None:
    register_provider("acme", f"{__name__}:AcmeModel")
    options = AgentOptions(model="acme:large-2", env={"ACME_GREETING": "hello"}, persist_session=False)
    messages = (await run_query("hi", options)).messages
    result = messages[-1]
    assert isinstance(result, ResultMessage) and not result.is_error
    assert result.result == "hello from large-2"


def test_an_unregistered_prefix_lists_the_registered_ones() -> None:
    register_provider("acme", f"{__name__}:AcmeModel")
    with pytest.raises(ConfigurationError, match="'acme:'"):
        resolve_model("zeta:x", env={})


@pytest.mark.parametrize(
    ("prefix", "target", "problem"),
    [
        ("", "pkg:Class", "provider prefix"),
        ("ac:me", "pkg:Class", "provider prefix"),
        ("acme", "pkg.Class", "'module:Class'"),
        ("acme", "pkg:", "'module:Class'"),
    ],
)
def test_a_malformed_registration_is_refused(prefix: str, target: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        register_provider(prefix, target)
    assert prefix not in PROVIDERS or PROVIDERS[prefix] != target


@pytest.mark.parametrize(
    ("target", "problem"),
    [("no_such_module_for_tether:Model", "cannot be imported.*is it installed"), (f"{__name__}:Missing", "from_env")],
)
def test_a_provider_that_cannot_be_found_says_so_when_used(target: str, problem: str) -> None:
    register_provider("acme", target)  # registering imports nothing
    with pytest.raises(ConfigurationError, match=problem):
        resolve_model("acme:x", env={})


def test_an_http_provider_missing_a_hook_fails_at_construction() -> None:
    class Incomplete(HTTPModel):  # no _cost, among others
        provider = "the Incomplete API"
        provider_id = "incomplete"
        honours = frozenset()

    with pytest.raises(TypeError, match="abstract"):
        Incomplete("m", base_url=None, max_retries=0, retry_delay=0, max_retry_delay=0, default_headers=None)  # type: ignore[abstract]
