"""Commands of redemption: activate, redeem, member show|bind, events list|ack."""

from __future__ import annotations

import sys

import typer

from loyalcode.cli import app, deployment, emit_json, parse_date, progress, state

JSON = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")

member_app = typer.Typer(help="Members: show, bind a phone or an external id.", no_args_is_help=True)
events_app = typer.Typer(help="The events outbox the CRM reads.", no_args_is_help=True)
app.add_typer(member_app, name="member")
app.add_typer(events_app, name="events")


_context = deployment


@app.command()
def activate(
    batch_id: str = typer.Argument(..., metavar="ID", help="Batch id."),
    channel: str | None = typer.Option(
        None, "--channel", help="Channel code (default: the batch's channel)."
    ),
    seq_from: str | None = typer.Option(
        None, "--from", help="First sequence number (from 1) or a visible serial."
    ),
    seq_to: str | None = typer.Option(
        None, "--to", help="Last sequence number (inclusive) or a visible serial."
    ),
    ranges: str | None = typer.Option(
        None, "--ranges", metavar="FILE",
        help="One range a line, FROM,TO[,CHANNEL] ('-': stdin); all or nothing.",
    ),
    json_out: bool = JSON,
) -> None:
    """Bind a shipped range of a batch (or every range of a file) to a channel; the
    latest activation wins."""
    from loyalcode.codegen.batches import get_batch, require_not_void
    from loyalcode.codegen.errors import InvalidInput
    from loyalcode.redemption import activation as act

    if ranges is not None and (seq_from is not None or seq_to is not None):
        raise InvalidInput("--ranges names every range: give it without --from and --to.")
    # Read the file before the transaction starts: stdin may be slow to arrive.
    lines = _read_lines(ranges) if ranges is not None else None
    with _context() as ctx, ctx.session() as s, s.begin():
        batch = get_batch(s, batch_id)
        require_not_void(batch)
        if lines is not None:
            found = act.parse_ranges(lines, batch, act.visible_serials(s))
            # Checked before the bar starts, so that a refusal is one line on stderr.
            found = act.check_ranges(s, batch.id, found, channel=channel)
            with progress(len(found), f"activate batch {batch.id}") as bar:
                done = act.activate_many(s, batch.id, found, on_progress=bar.update)
        else:
            first = last = None
            if seq_from is not None or seq_to is not None:
                serials = act.visible_serials(s)
                if seq_from is not None:
                    first = act.parse_position(seq_from, batch, serials, name="--from")
                if seq_to is not None:
                    last = act.parse_position(seq_to, batch, serials, name="--to")
            info = act.activate(s, batch.id, channel=channel, seq_from=first, seq_to=last)
    if lines is not None:
        summary = act.ActivationSummary.of(batch.id, done)
        if json_out:
            emit_json(summary.to_dict())
        else:
            per_channel = ", ".join(f"{c} {n:,}" for c, n in summary.channels.items())
            typer.echo(f"Batch {summary.batch}: {summary.ranges:,} ranges, {summary.codes:,} "
                       f"codes activated ({per_channel}).")
    elif json_out:
        emit_json(info.to_dict())
    else:
        typer.echo(
            f"Batch {info.batch} codes {info.seq_from}..{info.seq_to} "
            f"({info.serial_end - info.serial_start}) activated for channel {info.channel}."
        )


def _read_lines(path: str) -> list[str]:
    """The lines of ``path`` (``-``: stdin); undecodable bytes become U+FFFD, which no
    range accepts, so they are refused with their line number unless in a comment."""
    from loyalcode.codegen.errors import InvalidInput

    if path == "-":
        return sys.stdin.read().splitlines()
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            return f.read().splitlines()
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror or type(exc).__name__}.") from None


@app.command()
def redeem(
    scan: str = typer.Argument(..., help="The scanned QR payload or the typed code."),
    phone: str | None = typer.Option(None, "--phone", help="Member's phone (China by default)."),
    openid: str | None = typer.Option(None, "--openid", help="Member's WeChat openid."),
    region: str | None = typer.Option(None, "--region", help="Where the scan happened (GB/T 2260)."),
    source: str | None = typer.Option(None, "--source", help="IP or device id (throttle bucket)."),
    purchase_channel: str | None = typer.Option(
        None, "--purchase-channel", help="Channel code where the consumer says they bought."
    ),
    json_out: bool = JSON,
) -> None:
    """Redeem one scan for a member: points credited exactly once."""
    from loyalcode.redemption.redeem import Redeemer

    with Redeemer(state.db_url) as redeemer:
        result = redeemer.redeem(
            scan,
            phone=phone,
            openid=openid,
            region=region,
            source=source,
            purchase_channel=purchase_channel,
        )
    if json_out:
        emit_json(result.to_dict())
        return
    where = f" via channel {result.channel}" if result.channel else ""
    typer.echo(
        f"Credited {result.points} points to member {result.member} "
        f"(balance {result.balance}) for batch {result.batch} ({result.sku}){where}."
    )
    if "region" in result.diversion_reasons:
        typer.echo(
            f"Diversion: scanned in region {result.scan_region}, "
            f"channel region {result.channel_region}.",
            err=True,
        )
    if "channel" in result.diversion_reasons:
        typer.echo(
            f"Diversion: bought from {result.purchase_channel}, "
            f"which is not {result.channel} nor below it.",
            err=True,
        )


def _identities(openid: str | None, unionid: str | None, shop: str | None) -> dict[str, str]:
    found = {"openid": openid, "unionid": unionid, "shop": shop}
    return {k: v for k, v in found.items() if v is not None}


@member_app.command("show")
def member_show(
    member_id: int | None = typer.Option(None, "--id", help="Member id."),
    phone: str | None = typer.Option(None, "--phone", help="Phone number."),
    openid: str | None = typer.Option(None, "--openid", help="WeChat openid."),
    unionid: str | None = typer.Option(None, "--unionid", help="WeChat unionid."),
    shop: str | None = typer.Option(None, "--shop", help="A shop's member id."),
    ledger: bool = typer.Option(False, "--ledger", help="Include every ledger entry."),
    json_out: bool = JSON,
) -> None:
    """Show a member: phone, balance (and its ledger's sum), identities."""
    from loyalcode.redemption import members

    with _context() as ctx, ctx.engine.connect().execution_options(sqlite_deferred=True) as conn:
        mid = members.find_member(
            conn, member_id=member_id, phone=phone, identities=_identities(openid, unionid, shop)
        )
        info = members.member_info(conn, mid, with_ledger=ledger)
        conn.rollback()
    if json_out:
        emit_json(info.to_dict())
        return
    typer.echo(f"Member {info.id}  phone {info.phone or '-'}  balance {info.balance}")
    for kind, value in info.identities:
        typer.echo(f"  {kind}: {value}")
    typer.echo(f"  redemptions: {info.redemptions}")
    for line in info.ledger:
        ref = f" serial {line.redemption_serial}" if line.redemption_serial is not None else ""
        typer.echo(f"  {line.created_at:%Y-%m-%d %H:%M} {line.delta:+d} {line.kind}: {line.reason}{ref}")


@member_app.command("bind")
def member_bind(
    phone: str | None = typer.Option(None, "--phone", help="Phone number to bind."),
    member_id: int | None = typer.Option(None, "--id", help="The member to bind to."),
    openid: str | None = typer.Option(None, "--openid", help="WeChat openid."),
    unionid: str | None = typer.Option(None, "--unionid", help="WeChat unionid."),
    shop: str | None = typer.Option(None, "--shop", help="A shop's member id."),
    json_out: bool = JSON,
) -> None:
    """Bind a phone and/or external ids to a member; a phone held by another member
    merges the two."""
    from loyalcode.redemption import members
    from loyalcode.redemption.timeutil import utc

    with _context() as ctx, ctx.engine.connect() as conn, conn.begin():
        result = members.bind(
            conn,
            now=utc(),
            phone=phone,
            member_id=member_id,
            identities=_identities(openid, unionid, shop),
        )
    if json_out:
        emit_json(result.to_dict())
        return
    how = "created" if result.created else "updated"
    typer.echo(f"Member {result.member} {how}.")
    if result.merged_from is not None:
        typer.echo(f"Member {result.merged_from} was merged into member {result.member}.")


@events_app.command("list")
def events_list(
    pending: bool = typer.Option(False, "--pending", help="Only events not yet acknowledged."),
    after: int = typer.Option(0, "--after", help="Only events with a larger id."),
    limit: int = typer.Option(1000, "--limit", help="At most this many events."),
    json_out: bool = JSON,
) -> None:
    """List events of the outbox, oldest first."""
    from loyalcode.redemption.events import list_events

    with _context() as ctx, ctx.engine.connect().execution_options(sqlite_deferred=True) as conn:
        rows = list_events(conn, pending=pending, after=after, limit=limit)
        conn.rollback()
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
    from loyalcode.redemption.events import acknowledge

    with _context() as ctx, ctx.engine.connect() as conn, conn.begin():
        done = acknowledge(conn, ids)
    if json_out:
        emit_json({"acknowledged": done, "already": [i for i in ids if i not in done]})
    else:
        typer.echo(f"Acknowledged {len(done)} event(s).")


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

    from loyalcode.codegen.errors import InvalidInput
    from loyalcode.redemption.events import PURGE_CHUNK, id_range, purge_acknowledged
    from loyalcode.redemption.settings import RedemptionSettings
    from loyalcode.redemption.timeutil import utc

    if (before is None) == (older_than is None):
        raise InvalidInput("Name the cut-off: --before YYYY-MM-DD or --older-than DAYS.")
    with _context() as ctx:
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
        typer.echo(f"Purged {purged} acknowledged event(s) acknowledged before "
                   f"{utc(cutoff).isoformat()}.")
