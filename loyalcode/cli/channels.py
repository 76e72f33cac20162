"""Commands of the distribution: channel add|list, and activate (bind shipped codes to a
channel)."""

from __future__ import annotations

import sys

import typer

from loyalcode.cli import app, deployment, emit_json, notice, open_deployment, plural, progress

JSON = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")

channel_app = typer.Typer(help="Distribution channels (distributor, wholesaler, ...).", no_args_is_help=True)
app.add_typer(channel_app, name="channel")


@channel_app.command("add")
def channel_add(
    code: str = typer.Argument(..., help="Channel code, e.g. GD-DIST-01."),
    name: str = typer.Option(..., "--name", help="Display name."),
    kind: str = typer.Option(..., "--kind", help="distributor | wholesaler | retailer | ecommerce."),
    region: str = typer.Option(..., "--region", help="GB/T 2260 region code: 2, 4 or 6 digits, on the shipped list or [regions] extra."),
    parent: str | None = typer.Option(None, "--parent", help="Parent channel code."),
    json_out: bool = JSON,
) -> None:
    """Add a channel to the distribution tree."""
    from loyalcode.channels.regions import RegionList
    from loyalcode.channels.tree import ChannelInfo, add_channel

    ctx = open_deployment()
    regions = RegionList.from_config(ctx.config)
    with ctx.session() as s, s.begin():
        info = ChannelInfo.of(add_channel(s, code, name=name, kind=kind, region=region,
                                          parent=parent, regions=regions))
    if json_out:
        emit_json(info.to_dict())
    else:
        typer.echo(f"Channel {info.code} ({info.kind}, region {info.region}) added.")


@channel_app.command("list")
def channel_list(json_out: bool = JSON) -> None:
    """List the channels."""
    from loyalcode.channels.tree import list_channels

    ctx = open_deployment()
    with ctx.session() as s:
        rows = list_channels(s)
    if json_out:
        emit_json([r.to_dict() for r in rows])
        return
    for r in rows:
        typer.echo(f"{r.code}\t{r.kind}\t{r.region}\t{r.parent or '-'}\t{r.name}")


@app.command()
def activate(
    batch_id: str = typer.Argument(..., metavar="ID", help="Batch id."),
    channel: str | None = typer.Option(
        None, "--channel", help="Channel code (default: the batch's channel)."
    ),
    seq_from: str | None = typer.Option(
        None, "--from", help="First sequence number (from 1) or a visible serial. Required."
    ),
    seq_to: str | None = typer.Option(
        None, "--to",
        help="Last sequence number (inclusive), a visible serial, or 'end' for the end of the "
        "batch. Required.",
    ),
    ranges: str | None = typer.Option(
        None, "--ranges", metavar="FILE",
        help="One range a line, FROM,TO[,CHANNEL] ('-': stdin); all or nothing.",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Say what would be activated and replaced; change nothing."
    ),
    json_out: bool = JSON,
) -> None:
    """Bind a shipped range of a batch (or every range of a file) to a channel; the
    latest activation wins, and the command names the earlier ones it replaces
    (`activation undo ID` reverses it)."""
    from loyalcode.channels import activation as act
    from loyalcode.codegen.batches import get_batch, require_not_void
    from loyalcode.errors import InvalidInput

    if ranges is not None and (seq_from is not None or seq_to is not None):
        raise InvalidInput("--ranges names every range: give it without --from and --to.")
    if ranges is None and (seq_from is None or seq_to is None):
        raise InvalidInput(
            "Name both ends of the range: --from SEQ --to SEQ (sequence numbers or visible "
            "serials; --to end for the end of the batch), or --ranges FILE."
        )
    # Read the file before the transaction starts: stdin may be slow to arrive.
    lines = _read_lines(ranges) if ranges is not None else None
    with deployment() as ctx, ctx.session() as s:
        tx = s.begin()
        try:
            batch = get_batch(s, batch_id)
            require_not_void(batch)
            if lines is not None:
                found = act.parse_ranges(lines, batch, act.visible_serials(s))
                # Checked before the bar starts, so that a refusal is one line on stderr.
                found = act.check_ranges(s, batch.id, found, channel=channel)
                with progress(len(found), f"activate batch {batch.id}") as bar:
                    done = act.activate_many(s, batch.id, found, on_progress=bar.update)
            else:
                assert seq_from is not None and seq_to is not None
                serials = act.visible_serials(s)
                first = act.parse_position(seq_from, batch, serials, name="--from")
                last = (batch.quantity if seq_to.strip().lower() == "end"
                        else act.parse_position(seq_to, batch, serials, name="--to"))
                info = act.activate(s, batch.id, channel=channel, seq_from=first, seq_to=last)
        except BaseException:
            tx.rollback()
            raise
        # A dry run is the real thing rolled back: exactly what would have happened.
        tx.rollback() if dry_run else tx.commit()
    if lines is not None:
        summary = act.ActivationSummary.of(batch.id, done)
        if json_out:
            emit_json({**summary.to_dict(), "dry_run": dry_run}
                      | ({"activations": []} if dry_run else {}))
            return
        per_channel = ", ".join(f"{c} {n:,}" for c, n in summary.channels.items())
        verb = "would be activated" if dry_run else "activated"
        typer.echo(f"{'Dry run: ' if dry_run else ''}Batch {summary.batch}: {summary.ranges:,} "
                   f"{plural(summary.ranges, 'range')}, {summary.codes:,} "
                   f"{plural(summary.codes, 'code')} {verb} ({per_channel}).")
        _say_replaced(summary.replaces, dry_run)
        return
    if json_out:
        body = info.to_dict() | {"dry_run": dry_run}
        emit_json(body | ({"id": None} if dry_run else {}))
        return
    what = f"codes {info.seq_from}..{info.seq_to} ({info.quantity:,})"
    if dry_run:
        typer.echo(f"Dry run: batch {info.batch} {what} would be activated for channel "
                   f"{info.channel}.")
    else:
        typer.echo(f"Activation {info.id}: batch {info.batch} {what} activated for channel "
                   f"{info.channel}.")
    _say_replaced(info.replaces, dry_run)


def _say_replaced(replaced, dry_run: bool) -> None:  # type: ignore[no-untyped-def]
    """Which earlier activations lost codes (on stderr: a notice, not data; the first
    ten, then how many more: --json lists them all)."""
    for c in replaced[:10]:
        notice(f"{'Would replace' if dry_run else 'Replaces'} activation {c.activation} "
               f"(channel {c.channel}) for {c.codes:,} {plural(c.codes, 'code')}.")
    if len(replaced) > 10:
        more = replaced[10:]
        codes = sum(c.codes for c in more)
        notice(f"... and {len(more):,} more {plural(len(more), 'activation')} for {codes:,} "
               f"{plural(codes, 'code')} (--json lists them all).")


activation_app = typer.Typer(help="The activation history: list it, undo an entry.",
                             no_args_is_help=True)
app.add_typer(activation_app, name="activation")


@activation_app.command("list")
def activation_list(
    batch: str | None = typer.Option(None, "--batch", metavar="ID", help="Only this batch."),
    json_out: bool = JSON,
) -> None:
    """The activation history, oldest first: activations, deactivations and undos (the
    newest entry still in force over a code decides its channel)."""
    from loyalcode.channels.activation import activation_history

    with deployment() as ctx, ctx.session() as s:
        history = activation_history(s, batch)
    if json_out:
        emit_json([h.to_dict() for h in history])
        return
    for h in history:
        target = {"activation": h.channel, "deactivation": "not activated",
                  "undo": f"undo of {h.undoes}"}[h.kind]
        note = f"\tundone by {h.undone_by}" if h.undone_by is not None else ""
        typer.echo(f"{h.id}\tbatch {h.batch}\t{h.seq_from}..{h.seq_to}\t{h.quantity}\t{target}"
                   f"\t{h.created_at:%Y-%m-%d %H:%M:%S}{note}")


@activation_app.command("undo")
def activation_undo(
    activation_id: str = typer.Argument(..., metavar="ID", help="The history entry to reverse."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would change; change nothing."),
    json_out: bool = JSON,
) -> None:
    """Reverse an activation (or a deactivation) that is still the newest over every
    code it covers: each code gets back the channel it had before (or none). Recorded
    as an entry of its own."""
    from loyalcode.channels.activation import undo

    with deployment() as ctx, ctx.session() as s:
        tx = s.begin()
        try:
            info = undo(s, activation_id)
        except BaseException:
            tx.rollback()
            raise
        tx.rollback() if dry_run else tx.commit()
    if json_out:
        emit_json(info.to_dict() | {"dry_run": dry_run} | ({"id": None} if dry_run else {}))
        return
    head = "Dry run: would undo" if dry_run else f"Activation {info.id}: undid"
    typer.echo(f"{head} activation {info.undoes} (batch {info.batch} codes "
               f"{info.seq_from}..{info.seq_to}, {info.quantity:,} {plural(info.quantity, 'code')}).")
    back = sum(c.codes for c in info.restores)
    for c in info.restores:
        notice(f"{c.codes:,} {plural(c.codes, 'code')} back to channel {c.channel} "
               f"(activation {c.activation}).")
    if back < info.quantity:
        notice(f"{info.quantity - back:,} {plural(info.quantity - back, 'code')} not activated.")


def _read_lines(path: str) -> list[str]:
    """The lines of ``path`` (``-``: stdin); undecodable bytes become U+FFFD, which no
    range accepts, so they are refused with their line number unless in a comment."""
    from loyalcode.errors import InvalidInput

    if path == "-":
        return sys.stdin.read().splitlines()
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            return f.read().splitlines()
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror or type(exc).__name__}.") from None
