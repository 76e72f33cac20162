"""One place that opens the database, the settings and the key for a command or
service entry point.

>>> # ctx = open_context("sqlite:///./loyalcode.db")
>>> # with ctx.session() as s, s.begin(): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, exc, select
from sqlalchemy.orm import Session, sessionmaker

from loyalcode.errors import KeyMissing, NotInitialized
from loyalcode.store import db
from loyalcode.store.config import Config, database_url, load_config, sqlite_path
from loyalcode.store.keys import Keyring, KeySource, load_key


@dataclass(slots=True)
class Context:
    """The database, settings and (lazily) the verified key of one deployment."""

    url: str
    engine: Engine
    config: Config
    _sessions: Any = field(default=None, repr=False)
    _keyring: Keyring | None = field(default=None, repr=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session; the caller opens the transaction (``with s.begin():``).

        Database errors that mean "no schema" or "no server" become
        :class:`NotInitialized` / :class:`DatabaseUnavailable`.
        """
        if self._sessions is None:
            self.require_database()
            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        try:
            with self._sessions() as s:
                yield s
        except exc.DBAPIError as err:
            raise db.translate_missing_schema(self.engine, err) from None

    def require_database(self) -> None:
        """:class:`NotInitialized` when the SQLite file does not exist.

        Connecting would create a missing SQLite file: a refused command must leave
        nothing behind, so only `init` / `db upgrade` (which migrate first) bring the
        file into being. (A missing directory is left to the driver: that is
        database_unavailable.)
        """
        path = sqlite_path(self.url)
        if path is not None and path.parent.is_dir() and not path.exists():
            raise NotInitialized(url=db.redact(self.url))

    def deployment(self, session: Session) -> Any:
        """The deployment row, or :class:`NotInitialized`."""
        from loyalcode.store.models import Deployment

        row = session.scalar(select(Deployment).where(Deployment.id == 1))
        if row is None:
            raise NotInitialized(url=db.redact(self.url))
        return row

    def keyring(self) -> Keyring:
        """The configured key, verified against this database's fingerprint."""
        if self._keyring is None:
            key, source = load_key()
            keyring = Keyring(key)
            with self.session() as s:
                dep = self.deployment(s)
                fingerprint = dep.key_fingerprint
            if fingerprint is None:
                raise NotInitialized(url=db.redact(self.url))
            keyring.verify(fingerprint, source)
            self._keyring = keyring
        return self._keyring

    def visible_salt(self) -> str:
        """The deployment's salt for visible serials."""
        with self.session() as s:
            return str(self.deployment(s).visible_salt)

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


def open_context(url: str | None = None) -> Context:
    """Open the deployment at ``url`` (or the configured default)."""
    resolved = database_url(url)
    engine = db.make_engine(resolved)
    return Context(url=resolved, engine=engine, config=load_config(resolved))


__all__ = ["Context", "KeyMissing", "KeySource", "open_context"]
