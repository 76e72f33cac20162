"""Commands of the distribution: channel add|list, and activate (bind shipped codes to a
channel)."""

from __future__ import annotations

import sys

import typer

from loyalcode.cli import app, deployment, emit_json, open_deployment, progress

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
    from loyalcode.channels import activation as act
    from loyalcode.codegen.batches import get_batch, require_not_void
    from loyalcode.errors import InvalidInput

    if ranges is not None and (seq_from is not None or seq_to is not None):
        raise InvalidInput("--ranges names every range: give it without --from and --to.")
    # Read the file before the transaction starts: stdin may be slow to arrive.
    lines = _read_lines(ranges) if ranges is not None else None
    with deployment() as ctx, ctx.session() as s, s.begin():
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
    from loyalcode.errors import InvalidInput

    if path == "-":
        return sys.stdin.read().splitlines()
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            return f.read().splitlines()
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror or type(exc).__name__}.") from None
