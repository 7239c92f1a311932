"""`run_store_conformance`: the contract every session store must keep, as one async test suite.

```python
from tether.testing import run_store_conformance

async def test_my_store_conforms():
    report = await run_store_conformance(lambda scope: MyStore(DSN, scope=scope))
    assert not report.skipped
```

`make_store(scope)` (sync or async) returns a store limited to `scope` (`None` for the default
scope) over one shared, initially empty backend: two calls with different scopes must see the
same data, so that scope isolation can be checked. Every check uses fresh session ids, project
keys and scopes of its own, so the backend needs no cleaning between checks.

The suite covers the Claude Agent SDK's `SessionStore` contracts (append/load round trip,
unknown keys, call order, empty appends, subpaths, projects, listing, summaries, delete,
subkeys) and tether's own (copy-on-write fork, `expected_leaf`, `NO_LEAF`, tail loading, cursor
pagination, scopes, unicode and 1 MB entries, refused ids, delete keeping forks whole): the
contract written in `tether.sessions.store`. Checks
of a capability the store does not have are skipped and listed in the report; a broken contract
raises `AssertionError` naming it.
"""

from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass, field

from tether.testing._conformance_kit import Harness, MakeStore, Skip, store_capabilities
from tether.testing._sdk_store_checks import CHECKS as SDK_CHECKS
from tether.testing._tether_store_checks import CHECKS as TETHER_CHECKS

__all__ = ["ConformanceReport", "MakeStore", "run_store_conformance"]


@dataclass
class ConformanceReport:
    """What `run_store_conformance` checked: passed checks, and skipped ones with the reason."""

    passed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


async def run_store_conformance(make_store: MakeStore, *, scopes: bool = True) -> ConformanceReport:
    """Run every contract check against stores made by `make_store(scope)`; raise AssertionError on failure.

    Pass `scopes=False` for a store without tenancy (the scope checks are then skipped). Returns
    the checks that passed and those skipped because the store lacks a capability.
    """
    run = uuid_module.uuid4().hex[:10]
    report = ConformanceReport()
    failures: list[tuple[str, BaseException]] = []
    for name, needs, check in (*SDK_CHECKS, *TETHER_CHECKS):
        harness = Harness(make_store, run, check.__name__.strip("_").replace("_", "-"), scopes)
        try:
            missing = [n for n in needs if n not in store_capabilities(await harness.store())]
            if missing:
                report.skipped[name] = f"the store has no {', '.join(missing)}"
                continue
            await check(harness)
            report.passed.append(name)
        except Skip as skip:
            report.skipped[name] = str(skip)
        except AssertionError as exc:
            failures.append((name, exc))
        except Exception as exc:
            failures.append((name, AssertionError(f"[{name}] raised {type(exc).__name__}: {exc}")))
            failures[-1][1].__cause__ = exc
        finally:
            await harness.close()
    if failures:
        lines = "\n".join(f"- {name}: {exc}" for name, exc in failures)
        raise AssertionError(f"{len(failures)} store contract(s) broken:\n{lines}") from failures[0][1]
    return report
