"""The shared database layer: engine, metadata and migrations.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every
transaction that may write starts with ``BEGIN IMMEDIATE`` so that concurrent writers
queue on the busy timeout instead of failing at once with "database is locked" after a
deferred read. Read-only work can ask for a plain ``BEGIN`` with the execution option
``sqlite_deferred=True``. PostgreSQL goes through psycopg 3.

The schema is created and changed by the alembic migrations in
``loyalcode/migrations`` only; they travel inside the installed package.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    ForeignKeyConstraint,
    MetaData,
    Table,
    create_engine,
    event,
    exc,
    text,
)
from sqlalchemy.orm import DeclarativeBase

from loyalcode.errors import (
    DatabaseError,
    DatabaseUnavailable,
    DatabaseUrlUnsupported,
    LoyalcodeError,
    NotInitialized,
    SchemaOutOfDate,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

class Base(DeclarativeBase):
    """Declarative base of every table, with one naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def reference(table: Table, column: str, target: str) -> None:
    """Declare a foreign key from a lower package's ``table.column`` to ``target``
    (``"table.column"``) of the calling, higher package.

    A package declares only foreign keys to its own tables and those below it, so that
    its tables resolve when nothing above it is imported (the ORM resolves every
    foreign key of a table it flushes). A reference upwards (a batch's default channel,
    an event's member, a ledger entry's redemption) is declared by the package that owns
    the target, when it is imported; the migrations' metadata imports them all, so the
    schema and the drift check see every constraint.
    """
    table.append_constraint(ForeignKeyConstraint([column], [target]))


#: SQLite has one writer. The threads of a process take turns for it here rather than in
#: SQLite's busy handler, whose sleeps (up to 100 ms each) made the tail latency of a
#: threaded server (p99 of a scan 1.1 s; 28 ms with this). Re-entrant: a writer may call
#: another.
_SQLITE_WRITER = threading.RLock()


def one_writer(engine: Engine) -> contextlib.AbstractContextManager[Any]:
    """Held around a write transaction: this process's turn at SQLite's one writer (a
    no-op on PostgreSQL, which has row locks)."""
    return _SQLITE_WRITER if engine.dialect.name == "sqlite" else contextlib.nullcontext()


def redact(url: str) -> str:
    """A database URL safe to show: no password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:  # an unparsable URL: show only its scheme
        return url.split(":", 1)[0] + ":…"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` and ``postgres://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


#: The databases loyalcode runs on (the URL's scheme before any ``+driver``).
SUPPORTED_SCHEMES = ("sqlite", "postgresql")


def _sqlite_events(engine: Engine) -> None:
    from loyalcode.store.config import sqlite_path
    from loyalcode.store.files import create_private

    path = sqlite_path(str(engine.url))

    @event.listens_for(engine, "do_connect")
    def _create(*_: Any) -> None:
        # A new database file is 0600 (it holds who redeemed what); SQLite gives its
        # -wal and -shm files the database file's mode.
        if path is not None:
            create_private(path)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN, not the sqlite3 module.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if conn.connection.driver_connection.in_transaction:
            return  # the redemption hot path began it on the driver (redeem.py)
        deferred = conn.get_execution_options().get("sqlite_deferred", False)
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the project's settings for its database."""
    url = normalize_url(url)
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower() if ":" in url else ""
    if scheme not in SUPPORTED_SCHEMES:
        raise DatabaseUrlUnsupported(url=redact(url))
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, **kwargs)
            _sqlite_events(engine)
        else:
            kwargs.setdefault("pool_pre_ping", False)
            engine = create_engine(url, **kwargs)
    except (exc.ArgumentError, exc.NoSuchModuleError, ValueError) as err:
        raise DatabaseUnavailable(url=redact(url), reason=f"invalid URL ({err})") from None
    return engine


def check_connection(engine: Engine) -> None:
    """Connect once; :class:`DatabaseUnavailable` with the reason if that fails."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            conn.rollback()
    except exc.DBAPIError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else type(err).__name__
        raise DatabaseUnavailable(url=redact(str(engine.url)), reason=reason) from None


def typed_error(engine: Engine, err: BaseException) -> LoyalcodeError:
    """Any database error, wrapped by SQLAlchemy or raised by the driver itself (the
    redemption hot path runs statements on the driver's cursor), as one of ours: no
    schema is :class:`NotInitialized`; an operational error (no server, "database is
    locked" past the busy timeout, a deadlock, a lock or statement timeout) is
    :class:`DatabaseUnavailable`; anything else :class:`DatabaseError`. The reason is
    the driver's first line (never its detail, which can quote values)."""
    import sqlite3

    import psycopg  # a dependency: the PostgreSQL driver

    orig = err.orig if isinstance(err, exc.DBAPIError) and err.orig is not None else err
    message = str(orig).strip()
    lowered = message.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return NotInitialized(url=redact(str(engine.url)))
    reason = message.splitlines()[0] if message else type(orig).__name__
    operational = (exc.OperationalError, sqlite3.OperationalError, psycopg.OperationalError)
    if isinstance(err, operational) or isinstance(orig, operational):
        return DatabaseUnavailable(url=redact(str(engine.url)), reason=reason)
    return DatabaseError(url=redact(str(engine.url)), reason=reason)


def translate_missing_schema(engine: Engine, err: exc.DBAPIError) -> Exception:
    """:func:`typed_error` for "no schema" and "unavailable"; other errors pass through."""
    typed = typed_error(engine, err)
    return err if isinstance(typed, DatabaseError) else typed


# --- migrations ---------------------------------------------------------------------


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration shipped with this code."""
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (``None`` when it has none)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` in one transaction."""
    from alembic import command

    _migrate(engine, lambda cfg: command.upgrade(cfg, revision))


def downgrade(engine: Engine, revision: str) -> None:
    """Run the migrations down to ``revision`` in one transaction."""
    from alembic import command

    _migrate(engine, lambda cfg: command.downgrade(cfg, revision))


def _migrate(engine: Engine, run: Any) -> None:
    check_connection(engine)
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            run(_alembic_config(conn))
        return
    # SQLite changes a column by rebuilding its table (copy, drop, rename), and dropping
    # a table that others reference fails with foreign keys on. The pragma cannot change
    # inside a transaction: off before it (on the driver, which begins nothing itself),
    # every key checked before the commit, on again after.
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.begin():
                run(_alembic_config(conn))
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken is not None:
                    raise DatabaseError(url=redact(str(engine.url)),
                                        reason=f"a migration broke a foreign key of {broken[0]}")
        finally:
            driver.execute("PRAGMA foreign_keys = ON")


def require_head(engine: Engine) -> None:
    """:class:`SchemaOutOfDate` unless the database is at the newest migration."""
    current = current_revision(engine)
    head = head_revision()
    if current is None:
        raise NotInitialized(url=redact(str(engine.url)))
    if current != head:
        raise SchemaOutOfDate(current=current, head=head)
