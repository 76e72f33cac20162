"""Commands of the events outbox: events list|ack|dispatch|purge."""

from __future__ import annotations

import typer

from loyalcode.cli import app, deployment, emit_json, parse_date, plural, progress

JSON = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")

events_app = typer.Typer(help="The events outbox the CRM reads.", no_args_is_help=True)
app.add_typer(events_app, name="events")


@events_app.command("list")
def events_list(
    pending: bool = typer.Option(False, "--pending", help="Only events not yet acknowledged."),
    after: int = typer.Option(0, "--after", metavar="ID",
                              help="Only events with a larger id: the cursor of the next page."),
    limit: int = typer.Option(1000, "--limit", min=1, help="At most this many events."),
    json_out: bool = JSON,
) -> None:
    """List events of the outbox, oldest first; says on stderr when more remain (continue
    with --after the last id)."""
    from loyalcode.events.outbox import list_events

    with deployment() as ctx, ctx.engine.connect().execution_options(sqlite_deferred=True) as conn:
        rows = list_events(conn, pending=pending, after=after, limit=limit + 1)
        conn.rollback()
    more = len(rows) > limit
    rows = rows[:limit]
    if more:  # not a notice: --quiet must not hide that the list is cut short
        typer.echo(f"More events remain after id {rows[-1].id}: continue with --after "
                   f"{rows[-1].id}.", err=True)
    if json_out:
        emit_json([row.to_dict() for row in rows])
        return
    for row in rows:
        acked = "acked" if row.acknowledged_at else "pending"
        typer.echo(f"{row.id}\t{row.type}\t{row.member or '-'}\t{acked}\t{row.created_at:%Y-%m-%d %H:%M:%S}")


@events_app.command("ack")
def events_ack(
    ids: list[int] = typer.Argument(..., metavar="ID...", help="Event ids to acknowledge."),
    json_out: bool = JSON,
) -> None:
    """Acknowledge events (the CRM has handled them). Unknown ids acknowledge nothing."""
    from loyalcode.events.outbox import acknowledge

    with deployment() as ctx, ctx.engine.connect() as conn, conn.begin():
        done = acknowledge(conn, ids)
    if json_out:
        emit_json({"acknowledged": done, "already": [i for i in ids if i not in done]})
    else:
        typer.echo(f"Acknowledged {len(done)} {plural(len(done), 'event')}.")


@events_app.command("purge")
def events_purge(
    before: str | None = typer.Option(
        None, "--before", help="Purge events acknowledged before this day (YYYY-MM-DD)."
    ),
    older_than: int | None = typer.Option(
        None, "--older-than", min=1, help="Purge events acknowledged more than N days ago."
    ),
    json_out: bool = JSON,
) -> None:
    """Delete acknowledged events acknowledged before a day; pending ones always stay."""
    import datetime as dt

    from loyalcode.errors import InvalidInput
    from loyalcode.events.outbox import PURGE_CHUNK, id_range, purge_acknowledged
    from loyalcode.redemption.settings import RedemptionSettings
    from loyalcode.store.timeutil import utc

    if (before is None) == (older_than is None):
        raise InvalidInput("Name the cut-off: --before YYYY-MM-DD or --older-than DAYS.")
    with deployment() as ctx:
        tz = RedemptionSettings.from_config(ctx.config).tzinfo()
        day = parse_date(before, "--before")
        if day is not None:
            cutoff = dt.datetime.combine(day, dt.time(), tz)  # the day starts in local time
        else:
            cutoff = utc() - dt.timedelta(days=older_than or 0)
        with ctx.engine.connect() as conn:
            with conn.begin():
                bounds = id_range(conn)
            purged = 0
            if bounds is not None:
                low, high = bounds
                with progress(high - low + 1, "Purging events") as bar:
                    for lo in range(low, high + 1, PURGE_CHUNK):
                        hi = min(lo + PURGE_CHUNK, high + 1)
                        with conn.begin():  # one short transaction a chunk
                            purged += purge_acknowledged(conn, cutoff, lo, hi)
                        bar.update(hi - lo)
    if json_out:
        emit_json({"purged": purged, "before": utc(cutoff).isoformat()})
    else:
        typer.echo(f"Purged {purged} acknowledged {plural(purged, 'event')} acknowledged before "
                   f"{utc(cutoff).isoformat()}.")


@events_app.command("dispatch")
def events_dispatch(
    url: str = typer.Option(..., "--url", help="Webhook URL (http or https)."),
    max_attempts: int = typer.Option(5, "--max-attempts", help="Tries per event."),
    backoff: float = typer.Option(0.5, "--backoff", help="First retry delay in seconds (doubles)."),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds per request."),
    limit: int | None = typer.Option(None, "--limit", help="Deliver at most this many."),
    json_out: bool = JSON,
) -> None:
    """POST pending events to a webhook, acknowledging each one it accepts; signed with
    HMAC-SHA256 when LOYALCODE_WEBHOOK_SECRET is set."""
    import os

    from loyalcode.events.dispatch import dispatch_or_raise

    secret_text = os.environ.get("LOYALCODE_WEBHOOK_SECRET")
    secret = secret_text.encode("utf-8") if secret_text else None
    with deployment() as ctx:
        result = dispatch_or_raise(ctx.engine, url, max_attempts=max_attempts, backoff=backoff,
                                   timeout=timeout, limit=limit, secret=secret)
    if json_out:
        emit_json(result.to_dict())
    else:
        n = len(result.delivered)
        typer.echo(f"Delivered {n} {plural(n, 'event')} in {result.attempts} "
                   f"{plural(result.attempts, 'attempt')}.")
