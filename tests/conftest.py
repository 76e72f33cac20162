"""Shared fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL.

The ``db_url`` fixture is parametrised over both databases. PostgreSQL tests use a
fresh schema per test in the database named by ``LOYALCODE_TEST_POSTGRES_URL``
(default ``postgresql://postgres@127.0.0.1:5432/test``). Without a server they skip
with the reason; with ``CI=true`` a missing server is an error, never a skip.
"""

from __future__ import annotations

import io
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PG_URL = os.environ.get(
    "LOYALCODE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
#: A deployment's own payload template: the built-in LC.EXAMPLE.COM placeholder makes
#: export and print refuse without --allow-example-domain.
BRAND = "HTTPS://QR.BRAND.CN/C/{code}"
TEST_KEY = "7c1f0a9e3b5d4c2a8e6f1b0d9c7a5e3f2b4d6c8a0e1f3b5d7c9a2e4f6b8d0c1a"

# Fixtures that several packages' tests share: databases initialised by the CLI, the
# shop (a batch, channels, a Redeemer) and the loyalty helpers on top of it.
pytest_plugins = ["tests.dbs", "tests.shop", "tests.loyal", "tests.service.pages_support"]

_pg_state: dict[str, Any] = {}


def postgres_available() -> tuple[bool, str]:
    """Whether the test PostgreSQL answers (cached), and why not."""
    if "ok" not in _pg_state:
        try:
            import psycopg

            dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _pg_state["ok"], _pg_state["why"] = True, ""
        except Exception as exc:  # any failure to connect means "not available"
            _pg_state["ok"] = False
            _pg_state["why"] = f"PostgreSQL at {PG_URL} not reachable ({type(exc).__name__}: {exc})".splitlines()[0]
    return _pg_state["ok"], _pg_state["why"]


def require_postgres() -> None:
    """Skip (locally) or fail (CI=true) when PostgreSQL is not there."""
    ok, why = postgres_available()
    if not ok:
        if IN_CI:
            pytest.fail(f"CI=true but {why}: the PostgreSQL half of the suite must run.")
        pytest.skip(why)


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema (dropped afterwards), as a database URL."""
    require_postgres()
    import psycopg

    schema = "t_" + secrets.token_hex(6)
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield _pg_schema_url(schema)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind (no schema yet)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'loyalcode.db'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The test key in ``LOYALCODE_KEY``; no key file, no config file."""
    monkeypatch.setenv("LOYALCODE_KEY", TEST_KEY)
    monkeypatch.setenv("LOYALCODE_KEY_FILE", str(tmp_path / "no-such.key"))
    monkeypatch.delenv("LOYALCODE_DATABASE_URL", raising=False)
    monkeypatch.delenv("LOYALCODE_CONFIG", raising=False)
    return TEST_KEY


@pytest.fixture
def db_url(empty_db_url: str, key_env: str) -> str:
    """A database of each kind, migrated to head and initialised with the test key."""
    from loyalcode.store.context import open_context
    from loyalcode.store.deployment import init_deployment

    ctx = open_context(empty_db_url)
    init_deployment(ctx)
    ctx.dispose()
    return empty_db_url


@pytest.fixture
def ctx(db_url: str) -> Iterator[Any]:
    """An open :class:`loyalcode.store.context.Context` on ``db_url``."""
    from loyalcode.store.context import open_context

    c = open_context(db_url)
    yield c
    c.dispose()


@pytest.fixture
def keyring(key_env: str) -> Any:
    """The test key's keyring."""
    from loyalcode.store.keys import Keyring

    return Keyring(bytes.fromhex(key_env))


@pytest.fixture
def full_device(tmp_path: Path) -> Path:
    """A character device that refuses every write (ENOSPC), like ``/dev/full``.

    A node of its own in ``tmp_path`` when this process may make one (root): a test run
    against code that renames over its ``--out`` then replaces that node, never the
    system's ``/dev/full``. Otherwise ``/dev/full`` itself, which a process that cannot
    write ``/dev`` cannot replace either.
    """
    import stat as stat_

    node = tmp_path / "full"
    try:
        os.mknod(node, stat_.S_IFCHR | 0o666, os.makedev(1, 7))
        return node
    except (PermissionError, AttributeError):
        pass
    if os.access("/dev", os.W_OK):
        if IN_CI:
            pytest.fail("CI=true but no device node can be made (mknod refused)")
        pytest.skip("cannot make a device node, and /dev/full is not safe to aim at")
    return Path("/dev/full")


class FifoReader:
    """Reads a FIFO to the end in a thread: ``with FifoReader(path) as got: ...`` then
    ``got`` holds the bytes. If nothing ever opened the FIFO for writing (the code under
    test refused, or crashed), leaving the block unblocks the reader instead of hanging."""

    def __init__(self, path: Path) -> None:
        import threading

        self.path = path
        self.data: list[bytes] = []
        self._thread = threading.Thread(target=lambda: self.data.append(path.read_bytes()), daemon=True)

    def __enter__(self) -> list[bytes]:
        self._thread.start()
        return self.data

    def __exit__(self, *exc: object) -> None:
        self._thread.join(5)
        if self._thread.is_alive():  # no writer came: be the writer that closes at once
            try:
                os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass  # the reader is not blocked on the open any more: it ends by itself
            self._thread.join(60)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        import json

        return json.loads(self.stdout)

    def json_lines(self) -> list[Any]:
        import json

        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


@dataclass
class Cli:
    """Runs ``loyalcode`` in this process (fast) or as a real subprocess."""

    db_url: str
    env: dict[str, str] = field(default_factory=dict)

    def __call__(self, *args: str, stdin: str | None = None) -> CliResult:
        from loyalcode.cli import main

        argv = ["--db", self.db_url, *args]
        err = io.StringIO()
        out_b = io.BytesIO()  # binary underneath: export writes bytes to sys.stdout.buffer
        real = (sys.stdout, sys.stderr, sys.stdin)
        wrapper = io.TextIOWrapper(out_b, encoding="utf-8", write_through=True)
        sys.stdout, sys.stderr = wrapper, err
        if stdin is not None:
            sys.stdin = io.StringIO(stdin)
        code = 0
        try:
            main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
        finally:
            wrapper.flush()
            sys.stdout, sys.stderr, sys.stdin = real
        return CliResult(code, out_b.getvalue().decode("utf-8"), err.getvalue())

    def subprocess(self, *args: str, stdin: str | None = None, cwd: Path | None = None,
                   timeout: float = 120) -> CliResult:
        env = {**os.environ, **self.env}
        proc = subprocess.run(
            [sys.executable, "-m", "loyalcode", "--db", self.db_url, *args],
            check=False, input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli(db_url: str) -> Cli:
    """The command line against the test database."""
    return Cli(db_url)
