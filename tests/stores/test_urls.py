"""open_store: URLs to stores, bad URLs and unreachable servers fail fast without leaking passwords."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.clirun import run_tether_command

from tether._vocabulary.store import SessionKey
from tether.errors import ConfigurationError
from tether.sessions.stores import SCHEMES
from tether.sessions.stores.memory import MemoryStore
from tether.sessions.stores.sqlite import SQLiteStore
from tether.sessions.urls import open_store

KEY = SessionKey(project_key="-p", session_id="s1")
ENTRY = {"type": "user", "uuid": "u1", "message": {"role": "user", "content": "hi"}}


def test_a_store_object_is_returned_as_is() -> None:
    store = MemoryStore()
    assert open_store(store) is store


def test_default_is_sqlite_under_tether_home(tmp_path: Path) -> None:
    store = open_store(None, env={"TETHER_HOME": str(tmp_path), "TETHER_CLAUDE_CODE_SESSIONS": "0"})
    assert isinstance(store, SQLiteStore) and store.path == tmp_path / "sessions.db"
    store = open_store("sqlite://", env={"TETHER_HOME": str(tmp_path)})
    assert isinstance(store, SQLiteStore) and store.path == tmp_path / "sessions.db"


def test_tether_store_url_is_used_when_no_store_is_given(tmp_path: Path) -> None:
    alone = {"TETHER_CLAUDE_CODE_SESSIONS": "0"}  # without Claude Code's sessions beside it
    store = open_store(None, env={**alone, "TETHER_STORE_URL": f"sqlite:///{tmp_path}/custom.db?scope=acme"})
    assert isinstance(store, SQLiteStore)
    assert store.path == tmp_path / "custom.db" and store.scope == "acme"
    assert isinstance(open_store(None, env={**alone, "TETHER_STORE_URL": "memory://"}), MemoryStore)


def test_memory_url_takes_a_scope() -> None:
    store = open_store("memory://?scope=t1")
    assert isinstance(store, MemoryStore) and store.scope == "t1"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sessions.db", "expected one of"),
        ("mysql://root:hunter2@db/x", "unsupported session store URL scheme 'mysql'"),
        ("sqlite://host/x.db", "names a host"),
        ("sqlite:///tmp/dir/", "directory"),
        ("sqlite:///x.db?mode=ro", r"unknown option\(s\) mode in the session store URL 'sqlite:///x\.db\?mode=ro'"),
        ("memory://?colour=blue", "unknown option"),
        ("postgresql://u:hunter2@localhost:notaport/db", "invalid PostgreSQL URL"),
        ("postgresql://u:hunter2@localhost/db?colour=blue", "invalid PostgreSQL URL"),
        ("redis://u:hunter2@localhost:notaport/0", "invalid Redis URL"),
    ],
)
def test_bad_urls_fail_at_once_without_the_password(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        open_store(url)
    assert "hunter2" not in str(caught.value)


@pytest.mark.anyio
async def test_sqlite_url_round_trip(tmp_path: Path) -> None:
    (tmp_path / "a b").mkdir()
    store = open_store(f"sqlite:///{tmp_path}/a%20b/sessions.db")
    assert isinstance(store, SQLiteStore) and store.path == tmp_path / "a b" / "sessions.db"
    await store.append(KEY, [ENTRY])
    assert await store.load(KEY) == [ENTRY]
    await store.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "url",
    [
        "postgresql://tether:hunter2@127.0.0.1:1/sessions",
        "postgres://tether:hunter2@127.0.0.1:1/sessions?scope=x",
        "redis://:hunter2@127.0.0.1:1/0",
        "redis://user:hunter2@127.0.0.1:1/0?prefix=app",
    ],
)
async def test_an_unreachable_server_is_a_configuration_error_naming_the_url(url: str) -> None:
    store = open_store(url)
    with pytest.raises(ConfigurationError, match=r"127\.0\.0\.1:1") as caught:
        await store.load(KEY)
    await store.close()  # type: ignore[attr-defined]
    assert "hunter2" not in str(caught.value) and "***" in str(caught.value)
    assert caught.value.__cause__ is None or "hunter2" not in str(caught.value.__cause__)


@pytest.mark.anyio
@pytest.mark.postgres
async def test_postgres_url_opens_a_working_store(postgres_url: str) -> None:
    store = open_store(postgres_url + "?scope=tenant")
    await store.append(KEY, [ENTRY])
    assert await store.load(KEY) == [ENTRY]
    other = open_store(postgres_url)
    assert await other.load(KEY) is None  # another scope
    await store.close()  # type: ignore[attr-defined]
    await other.close()  # type: ignore[attr-defined]


@pytest.mark.anyio
@pytest.mark.postgres
async def test_a_missing_database_is_a_configuration_error(postgres_url: str) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/tether_no_such_database"
    store = open_store(url)
    with pytest.raises(ConfigurationError, match="tether_no_such_database"):
        await store.load(KEY)
    await store.close()  # type: ignore[attr-defined]


@pytest.mark.anyio
@pytest.mark.redis
async def test_redis_url_opens_a_working_store(redis_url: str, redis_prefix: str) -> None:
    store = open_store(f"{redis_url}?prefix={redis_prefix}&scope=tenant")
    await store.append(KEY, [ENTRY])
    assert await store.load(KEY) == [ENTRY]
    other = open_store(f"{redis_url}?prefix={redis_prefix}")
    assert await other.load(KEY) is None  # another scope
    await store.close()  # type: ignore[attr-defined]
    await other.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("module", "extra"), [("postgres", "postgres"), ("redis", "redis")])
def test_without_the_extra_the_import_error_says_what_to_install(module: str, extra: str) -> None:
    blocked = {"postgres": ["psycopg", "psycopg_pool"], "redis": ["redis"]}[module]
    code = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "try:\n"
        f"    import tether.sessions.stores.{module}\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
        "from tether.sessions.urls import open_store\n"
        "try:\n"
        f"    open_store({'postgresql://h/db' if module == 'postgres' else 'redis://h'!r})\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    lines = result.stdout.splitlines()
    assert f"pip install 'tether[{extra}]'" in lines[0]
    assert lines[1].startswith("ConfigurationError") and f"tether[{extra}]" in lines[1]


def test_jsonl_urls_open_a_store_over_a_claude_code_directory(tmp_path: Path) -> None:
    from tether.sessions.stores.jsonl import JsonlStore

    store = open_store(f"jsonl://{tmp_path}")
    assert isinstance(store, JsonlStore)
    with pytest.raises(ConfigurationError, match="name the directory"):
        open_store("jsonl://")


def test_a_new_store_is_one_module_and_one_registry_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_store.py").write_text(
        "from tether.sessions.stores.memory import MemoryStore\n"
        "class MyStore(MemoryStore):\n"
        "    pass\n"
        "def from_url(url):\n"
        "    url.only('scope')\n"
        "    return MyStore(scope=url.options.get('scope'))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(SCHEMES, "mine", "my_store")
    store = open_store("mine://?scope=team")
    assert type(store).__name__ == "MyStore" and store.scope == "team"  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="unknown option"):
        open_store("mine://?colour=blue")


def test_the_stores_import_from_tether_the_network_ones_lazily() -> None:
    code = (
        "import sys, tether\n"
        "print(sorted(m for m in ('psycopg', 'redis') if m in sys.modules))\n"
        "from tether.sessions.stores.postgres import PostgresStore\n"
        "from tether.sessions.stores.redis import RedisStore\n"
        "from tether.sessions.stores.sqlite import SQLiteStore\n"
        "print(tether.PostgresStore is PostgresStore, tether.RedisStore is RedisStore,"
        " tether.SQLiteStore is SQLiteStore)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.splitlines() == ["[]", "True True True"]


def test_sqlite_urls_read_as_sqlalchemy_reads_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    for directory in (home, tmp_path / "work" / "data"):
        directory.mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("HOME", str(home))
    files = {
        "sqlite:///sessions.db": tmp_path / "work" / "sessions.db",  # three slashes: relative
        "sqlite:///data/sessions.db": tmp_path / "work" / "data" / "sessions.db",
        "sqlite:///./data/../sessions.db?scope=t": tmp_path / "work" / "data" / ".." / "sessions.db",
        f"sqlite:///{tmp_path}/abs.db": tmp_path / "abs.db",  # four slashes: absolute
        "sqlite:///~/mine.db": home / "mine.db",
    }
    for url, file in files.items():
        store = open_store(url)
        assert isinstance(store, SQLiteStore) and store.path == file, url
    store = open_store("sqlite:///sessions.db")
    monkeypatch.chdir(tmp_path)
    assert isinstance(store, SQLiteStore) and store.path == tmp_path / "work" / "sessions.db"  # fixed when read


def test_the_store_file_follows_the_environment_and_directory_of_each_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the URL's file depends on is read at every open, though its parsing is kept."""

    def file_of(url: str, *, shared: bool = False) -> Path:
        store = open_store(url, shared=shared)
        assert isinstance(store, SQLiteStore)
        return store.path

    for name in ("one", "two", "home", "work"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "one"))
    assert file_of("sqlite://", shared=True) == tmp_path / "one" / "sessions.db"
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "two"))
    assert file_of("sqlite://", shared=True) == tmp_path / "two" / "sessions.db"
    monkeypatch.delenv("TETHER_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert file_of("sqlite://") == tmp_path / "home" / ".tether" / "sessions.db"
    assert file_of("sqlite:///~/mine.db") == tmp_path / "home" / "mine.db"
    monkeypatch.chdir(tmp_path / "work")
    assert file_of("sqlite:///here.db") == tmp_path / "work" / "here.db"
    monkeypatch.chdir(tmp_path / "one")
    assert file_of("sqlite:///here.db") == tmp_path / "one" / "here.db"


@pytest.mark.anyio
async def test_the_same_sqlite_url_is_the_same_store_for_the_agent_and_the_helpers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tether import AgentOptions, list_sessions, query
    from tether.testing import ScriptedModel

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TETHER_STORE_URL", "sqlite:///env.db")
    model = ScriptedModel(["Stored."])
    async for _ in query(prompt="Where am I stored?", options=AgentOptions(model=model, cwd=str(tmp_path))):
        pass
    assert (tmp_path / "env.db").is_file()
    [info] = list_sessions(store="sqlite:///env.db")
    assert info.summary == "Where am I stored?"
    assert [i.session_id for i in list_sessions()] == [info.session_id]  # $TETHER_STORE_URL, read the same


def test_a_missing_directory_is_an_error_naming_it_and_nothing_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for url, missing in [
        ("sqlite:///typo/sessions.db", tmp_path / "typo"),
        (f"sqlite:///{tmp_path}/a/b/sessions.db", tmp_path / "a" / "b"),
    ]:
        with pytest.raises(ConfigurationError, match="does not exist") as caught:
            open_store(url)
        assert f"the directory {str(missing)!r} of the session store URL {url!r}" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_the_default_file_and_its_directory_are_still_created(tmp_path: Path) -> None:
    home = tmp_path / "not" / "yet"
    store = open_store("sqlite://", env={"TETHER_HOME": str(home)})
    assert isinstance(store, SQLiteStore)
    store.ensure_ready()
    assert (home / "sessions.db").is_file()


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` read-only for this process: by its mode, or (as root, whom modes do not stop) immutable."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o500 if path.is_dir() else 0o400)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root, and this file system cannot make a file immutable")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


@pytest.mark.parametrize("what", ["file", "directory"])
def test_a_read_only_store_says_so_in_one_line(tmp_path: Path, what: str) -> None:
    store = SQLiteStore(tmp_path / "sessions.db")
    store.ensure_ready()
    anyio_close(store)
    url = f"sqlite:///{tmp_path}/sessions.db"
    target = tmp_path / "sessions.db" if what == "file" else tmp_path
    with read_only(target):
        with pytest.raises(ConfigurationError, match="read-only for this user") as caught:
            open_store(url)
        expected = f"the file {str(target)!r}" if what == "file" else f"its directory {str(target)!r}"
        assert expected in str(caught.value) and "unable to open" not in str(caught.value)
        run = run_tether_command("sessions", "list", "--store", url, cwd=tmp_path)
    assert run.returncode == 1 and run.stdout == ""
    [line] = run.stderr.splitlines()
    assert "read-only for this user" in line and expected in line


def anyio_close(store: SQLiteStore) -> None:
    import anyio

    anyio.run(store.close)


@pytest.mark.anyio
async def test_the_tether_command_reads_sqlite_urls_the_same_way(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    store = SQLiteStore(tmp_path / "data" / "rel.db")
    session_id = "5e551011-0000-4000-8000-000000000001"
    entry = {**ENTRY, "uuid": "5e551011-0000-4000-8000-0000000000aa", "sessionId": session_id}
    entry["message"] = {"role": "user", "content": "stored relative to the directory"}
    await store.append(SessionKey(project_key="-p", session_id=session_id), [entry])
    await store.close()

    by_flag = run_tether_command("sessions", "list", "--full-ids", "--store", "sqlite:///data/rel.db", cwd=tmp_path)
    by_env = run_tether_command("sessions", "list", cwd=tmp_path, TETHER_STORE_URL="sqlite:///data/rel.db")
    for run in (by_flag, by_env):
        assert run.returncode == 0, run.stderr
        [line] = run.stdout.splitlines()  # a pipe: one tab-separated line, nothing cut
        assert line.split("\t")[0] == session_id and "stored relative to the directory" in line

    typo = run_tether_command("sessions", "list", "--store", "sqlite:///dta/rel.db", cwd=tmp_path)
    assert typo.returncode == 1 and typo.stdout == ""
    [line] = typo.stderr.splitlines()
    assert f"the directory {str(tmp_path / 'dta')!r}" in line and "does not exist" in line
    assert not (tmp_path / "dta").exists()


@pytest.mark.anyio
async def test_override_model_keeps_sessions_in_memory_unless_a_store_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_environment: Path
) -> None:
    from tether import AgentOptions, list_sessions, query
    from tether.messages import ResultMessage
    from tether.testing import ScriptedModel, override_model

    monkeypatch.setenv("TETHER_STORE_URL", f"sqlite:///{tmp_path}/real.db")  # a developer's real store

    async def ask(prompt: str, **options: object) -> str:
        messages = [m async for m in query(prompt=prompt, options=AgentOptions(cwd=str(tmp_path), **options))]  # type: ignore[arg-type]
        [result] = [m for m in messages if isinstance(m, ResultMessage)]
        return result.session_id

    with override_model(ScriptedModel(["One.", "Two."])) as model:
        session_id = await ask("first")
        assert await ask("second", resume=session_id) == session_id  # one store for the whole block
        assert [i.session_id for i in list_sessions()] == [session_id]
    assert [m["role"] for m in model.requests[1].messages] == ["user", "assistant", "user"]
    assert not (tmp_path / "real.db").exists() and not (isolated_environment / "sessions.db").exists()

    named = MemoryStore()
    with override_model(ScriptedModel(["Three."])):
        kept = await ask("third", session_store=named)  # a store the code names is used
    assert [i.session_id for i in list_sessions(store=named)] == [kept]
    with override_model(ScriptedModel(["Four."]), session_store="sqlite://?scope=t"):
        await ask("fourth")
    assert (isolated_environment / "sessions.db").is_file()  # "sqlite://": the default file, as asked
    assert not (tmp_path / "real.db").exists()
