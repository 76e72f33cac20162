"""Commands of the store: init (database, migrations and key) and db upgrade|check."""

from __future__ import annotations

import typer

from loyalcode.cli import app, emit_json, notice, open_deployment
from loyalcode.errors import LoyalcodeError

JSON = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command()
def init(
    base_url: str | None = typer.Option(
        None, "--base-url", metavar="URL",
        help="Your QR domain, e.g. https://qr.brand.cn: new batches' payloads become "
        "URL/C/{code} ([codes] payload_template in loyalcode.toml).",
    ),
    json_out: bool = JSON,
) -> None:
    """Create or upgrade the database and create the key file if the database has none."""
    from loyalcode.store.config import payload_template_for, write_payload_template
    from loyalcode.store.deployment import init_deployment

    template = payload_template_for(base_url) if base_url is not None else None  # checked first
    ctx = open_deployment(create=True)
    result = init_deployment(ctx)
    written = write_payload_template(ctx.config.path, template) if template is not None else False
    if json_out:
        emit_json(result.to_dict() | {"payload_template": template or ctx.config.payload_template,
                                      "config": str(ctx.config.path) if written else None})
        return
    typer.echo(f"Database {result.database} is at revision {result.revision}.")
    if written:
        notice(f"New batches' QR payloads: {template} ([codes] payload_template in "
               f"{ctx.config.path}).")
    if result.key_created:
        notice(
            f"Created a new key in {result.key_source} (fingerprint {result.fingerprint}).\n"
            "KEEP IT SAFE AND BACK IT UP: the key is needed to export, print, check and "
            "redeem codes. Losing it makes every code issued under it worthless; anyone "
            "holding it can make valid codes."
        )
    elif result.key_adopted:
        notice(f"Using the key from {result.key_source} (fingerprint {result.fingerprint}).")
    else:
        notice(f"Key from {result.key_source} matches this database (fingerprint {result.fingerprint}).")


@db_app.command("upgrade")
def db_upgrade(json_out: bool = JSON) -> None:
    """Apply the migrations up to the newest."""
    from loyalcode.store import db

    ctx = open_deployment(create=True)
    db.upgrade(ctx.engine)
    revision = db.current_revision(ctx.engine)
    if json_out:
        emit_json({"database": db.redact(ctx.url), "revision": revision})
    else:
        typer.echo(f"Database {db.redact(ctx.url)} is at revision {revision}.")


@db_app.command("check")
def db_check(json_out: bool = JSON) -> None:
    """Check that the database is at the newest migration and matches the models."""
    from loyalcode.migrations.metadata import drift
    from loyalcode.store import db

    ctx = open_deployment()
    ctx.require_database()  # a check creates nothing
    db.check_connection(ctx.engine)
    current, head = db.current_revision(ctx.engine), db.head_revision()
    diffs = drift(ctx.engine) if current == head else []
    # One JSON document on stdout either way: the body when clean, else the error
    # (with the revisions as facts), never both.
    if current != head:
        raise SchemaDrift(
            detail=f"Database is at {current}, the newest migration is {head}: run 'loyalcode db upgrade'.",
            revision=current,
            head=head,
        )
    if diffs:
        raise SchemaDrift(
            detail=f"Database schema differs from the models in {len(diffs)} place(s): "
            + "; ".join(str(d) for d in diffs[:3]).replace("\n", " "),
            revision=current,
            head=head,
        )
    if json_out:
        emit_json({"revision": current, "head": head, "drift": []})
    else:
        typer.echo(f"Database is at {head}; no drift.")


class SchemaDrift(LoyalcodeError):
    code = "schema_drift"
    template = "{detail}"
