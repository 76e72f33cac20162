"""Commands of the HTTP service: serve, and apikey create|list|revoke.

``serve`` checks the deployment (database, schema, key) so that a refusal is one
``error [code]`` line, then hands over to uvicorn, naming the application and its
logging set-up by module path: the CLI and the service are two faces and neither
imports the other.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import typer

from loyalcode.cli import app, deployment, emit_json, notice

JSON = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")

#: The ASGI application factory and the JSON-lines logging of the service.
APP = "loyalcode.service.app:create_app"
LOG_CONFIG = Path(__file__).resolve().parent.parent / "service" / "logging.json"

apikey_app = typer.Typer(help="API keys of the HTTP service (scoped, revocable).",
                         no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port (0: any free port).", min=0,
                             max=65535),
    workers: int = typer.Option(1, "--workers", help="Worker processes.", min=1, max=64),
) -> None:
    """Run the HTTP API (/v1, /healthz, /readyz) and the consumer pages on uvicorn until
    SIGTERM or Ctrl-C."""
    import uvicorn

    from loyalcode.store import db

    with deployment() as ctx:  # refuse here, as every command does, before listening
        ctx.require_database()
        db.check_connection(ctx.engine)
        db.require_head(ctx.engine)
        ctx.keyring()
        url = ctx.url
    os.environ["LOYALCODE_DATABASE_URL"] = url  # the workers open the same deployment
    notice(f"Serving {db.redact(url)} on http://{host}:{port} with {workers} worker(s).")
    uvicorn.run(
        APP, factory=True, host=host, port=port, workers=workers,
        log_config=str(LOG_CONFIG), access_log=False,  # the service logs its own lines
        proxy_headers=False,  # [service] trusted_proxies decides, per route
        server_header=False,
        timeout_graceful_shutdown=None,  # SIGTERM: finish every request in flight
    )


@apikey_app.command("create")
def apikey_create(
    name: str = typer.Option(..., "--name", help="Who uses the key (a CRM, a scanner)."),
    scope: list[str] = typer.Option(
        ..., "--scope", help="redeem, members, events, logistics or admin (repeatable)."),
    json_out: bool = JSON,
) -> None:
    """Create a key; it is shown this once (only a hash of it is stored)."""
    from loyalcode.access.apikeys import create_key

    with deployment() as ctx, ctx.session() as s, s.begin():
        created = create_key(s.connection(), name, scope, dt.datetime.now(dt.UTC))
    if json_out:
        emit_json(created.to_dict())
    else:
        typer.echo(created.token)
    notice(f"API key {created.info.id} ({created.info.name}, scopes "
           f"{' '.join(created.info.scopes)}): shown once, store it now.")


@apikey_app.command("list")
def apikey_list(json_out: bool = JSON) -> None:
    """Every key (id, name, prefix, scopes, revoked or not); never a secret."""
    from loyalcode.access.apikeys import list_keys

    with deployment() as ctx, ctx.session() as s:
        keys = list_keys(s.connection())
    if json_out:
        emit_json([k.to_dict() for k in keys])
        return
    for k in keys:
        state = "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d %H:%M}"
        typer.echo(f"{k.id}\t{k.name}\tlck_{k.prefix}_…\t{' '.join(k.scopes)}\t{state}")


@apikey_app.command("revoke")
def apikey_revoke(
    key: str = typer.Argument(..., help="The key's id or prefix (see 'apikey list')."),
    json_out: bool = JSON,
) -> None:
    """Revoke a key: it is refused (401) within [service] key_cache_seconds."""
    from loyalcode.access.apikeys import revoke_key

    with deployment() as ctx, ctx.session() as s, s.begin():
        info = revoke_key(s.connection(), key, dt.datetime.now(dt.UTC))
    if json_out:
        emit_json(info.to_dict())
    else:
        typer.echo(f"API key {info.id} ({info.name}) is revoked.")
