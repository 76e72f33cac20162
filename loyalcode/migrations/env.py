"""Alembic environment: runs on the connection loyalcode hands it (see loyalcode.store.db)."""

from __future__ import annotations

from alembic import context

from loyalcode.migrations.metadata import metadata
from loyalcode.store.db import make_engine

config = context.config
target_metadata = metadata()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # plain `alembic` command line: use the configured URL
        from loyalcode.store.config import database_url

        engine = make_engine(config.get_main_option("sqlalchemy.url") or database_url())
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("loyalcode migrations run online only: use 'loyalcode db upgrade'.")
run_migrations_online()
