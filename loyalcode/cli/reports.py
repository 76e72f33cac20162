"""Commands of the reports: report (redemption rates for the channel team) and lookup
(customer service: what a package's visible serial says)."""

from __future__ import annotations

import sys

import typer

from loyalcode.cli import app, deployment, emit_json, notice, plural

JSON = typer.Option(False, "--json", help="One JSON line per input on stdout.")
REPORT_JSON = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")


@app.command("lookup")
def lookup_cmd(
    serials: list[str] = typer.Argument(
        ..., metavar="SERIAL...",
        help="Visible serials (明码) printed on packages; '-' reads one per line from stdin.",
    ),
    json_out: bool = JSON,
) -> None:
    """Customer service: the batch, channel, redemption (phone masked), clone alert and
    state of a visible serial. Needs no key; writes nothing."""
    from loyalcode.redemption.settings import RedemptionSettings
    from loyalcode.reports.lookup import lookup

    # Read stdin before the transaction starts: it may be slow to arrive. Blank lines
    # are skipped, so line numbers count the serials given.
    texts = [t for t in sys.stdin.read().splitlines() if t.strip()] if serials == ["-"] else serials
    with deployment() as ctx:
        tz = RedemptionSettings.from_config(ctx.config).tzinfo()
        zone = RedemptionSettings.from_config(ctx.config).timezone
        salt = ctx.visible_salt()
        with ctx.engine.connect().execution_options(sqlite_deferred=True) as conn:
            found = lookup(conn, texts, salt, tz=tz)
            conn.rollback()
    invalid = [info.line for info in found if info.status == "invalid"]
    for info in found:
        if json_out:
            emit_json({**info.to_dict(), "timezone": zone})
        else:
            typer.echo(_line(info, zone))
    if invalid:
        shown = ", ".join(map(str, invalid[:10])) + (", ..." if len(invalid) > 10 else "")
        notice(f"{len(invalid)} of {len(found)} inputs are not visible serials of this "
               f"deployment (input {shown}).")
        raise SystemExit(1)  # not typer.Exit: see check in codegen.py


def _line(info, zone: str) -> str:  # type: ignore[no-untyped-def]
    """One line of text for an agent: the serial, its state, then the facts."""
    if info.status == "invalid":
        return f"input {info.line}\tinvalid\t{info.message}"
    head = f"{info.visible}\t{info.state}\tserial {info.serial}"
    if info.batch is None:
        return f"{head}\tin no batch"
    b = info.batch
    window = ""
    if b.redeem_from and b.redeem_until:
        window = f", redeems {b.redeem_from}..{b.redeem_until} ({zone})"
    elif b.redeem_from or b.redeem_until:
        window = (f", redeems from {b.redeem_from}" if b.redeem_from
                  else f", redeems until {b.redeem_until}") + f" ({zone})"
    parts = [head, f"batch {b.id} {b.sku}{f' ({b.name})' if b.name else ''}, {b.status}{window}",
             f"seq {info.seq}"]
    if info.channel is not None:
        parts.append(f"channel {info.channel} since {info.activated_at:%Y-%m-%d %H:%M} UTC "
                     f"({info.activations} {plural(info.activations, 'activation')})")
    else:
        parts.append(f"not activated ({info.activations} "
                     f"{plural(info.activations, 'activation')})")
    if info.case is not None:
        parts.append(f"case {info.case}" + (f" on pallet {info.pallet}" if info.pallet else ""))
    if info.shipments:
        parts.append("shipments " + ", ".join(
            f"{s.id} ({s.kind} to {s.channel or '-'})" for s in info.shipments))
    r = info.redemption
    if r is not None:
        where = f" in region {r.scan_region}" if r.scan_region else ""
        parts.append(f"redeemed {r.redeemed_at:%Y-%m-%d %H:%M} UTC by member {r.member} "
                     f"({r.phone or 'no phone'}), {r.points} {plural(r.points, 'point')} via {r.channel or '-'}{where}"
                     + (", DIVERSION" if r.diversion else ""))
    if info.clone_alert is not None:
        c = info.clone_alert
        who = f"member {c.attempted_by}" if c.attempted_by is not None else "a new member"
        parts.append(f"CLONE ALERT {c.created_at:%Y-%m-%d %H:%M} UTC: scanned again by {who}")
    return "\t".join(parts)


@app.command()
def report(
    batch: int | None = typer.Option(None, "--batch", help="Only this batch."),
    by: str = typer.Option("batch", "--by", help="batch, channel, region, day or shipment."),
    json_out: bool = REPORT_JSON,
) -> None:
    """Codes issued, activated, redeemed; redemption rate; points; diversion and clone alerts."""
    from loyalcode.reports.report import build_report

    if by == "shipment":
        _shipment_report(batch, json_out)
        return

    with deployment() as ctx, ctx.engine.connect().execution_options(sqlite_deferred=True) as conn:
        from loyalcode.redemption.settings import RedemptionSettings

        rsettings = RedemptionSettings.from_config(ctx.config)
        result = build_report(conn, by=by, batch=batch, tz=rsettings.tzinfo(),
                              tz_name=rsettings.timezone)
        conn.rollback()
    if json_out:  # days (--by day) are days in the business time zone
        emit_json({**result.to_dict(), "timezone": rsettings.timezone})
        return
    if by == "day":
        notice(f"Days in {rsettings.timezone}.")
    def shown(value: object) -> str:
        return "-" if value is None or value == "" else str(value)

    for row in result.rows:
        d = row.to_dict()
        label = " ".join(shown(d[k]) for k in row.key)
        typer.echo(f"{label}\tissued {shown(d['codes_issued'])}"
                   f"\tactivated {shown(d['codes_activated'])}"
                   f"\tredeemed {row.codes_redeemed}\trate {format_rate(row.redemption_rate)}"
                   f"\tpoints {row.points_issued}"
                   f"\tdiversions {row.diversion_alerts}\tclones {row.clone_alerts}")
    t = result.totals
    # On stdout with the rows: it is data (a notice would vanish with -q or > file).
    rate = format_rate(t["codes_redeemed"] / t["codes_activated"]) if t.get("codes_activated") else "-"
    typer.echo(f"Totals: redeemed {t['codes_redeemed']} of {t['codes_activated']} activated "
               f"({t['codes_issued']} issued), rate {rate}, points issued {t['points_issued']}.")


def format_rate(rate: float | None) -> str:
    """A redemption rate for people: two decimals of a percent, but never a rate above
    zero shown as 0.00% (1 in a million is 0.0001%); ``-`` when there is none.

    >>> [format_rate(r) for r in (None, 0, 1e-6, 0.00004, 0.1234, 1)]
    ['-', '0%', '0.0001%', '0.004%', '12.34%', '100.00%']
    """
    if rate is None:
        return "-"
    if rate == 0:
        return "0%"
    percent = rate * 100
    if percent < 0.01:
        return f"{percent:.2g}%"
    return f"{percent:.2f}%"


def _shipment_report(batch: int | None, json_out: bool) -> None:
    """``report --by shipment``: what each closed shipment sent where, and what became of it."""
    from loyalcode.reports.shipments import shipment_report

    with deployment() as ctx, ctx.engine.connect().execution_options(sqlite_deferred=True) as conn:
        rows = shipment_report(conn, batch=batch)
        conn.rollback()
    if json_out:
        emit_json({"by": "shipment", "batch": batch, "rows": [r.to_dict() for r in rows]})
        return
    for r in rows:
        rate = "-" if r.redemption_rate is None else f"{r.redemption_rate:.2%}"
        typer.echo(f"{r.shipment}\t{r.kind}\t{r.channel or '(deactivated)'}\t"
                   f"{r.closed_at.isoformat()}\tshipped {r.codes_shipped}\tactivated "
                   f"{r.codes_activated}\tredeemed {r.codes_redeemed}\trate {rate}\t"
                   f"diversions {r.diversion_alerts}")
