"""Commands of logistics: case create|pack|upload|move|show, shipment
open|add|close|show, ship and return."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from loyalcode.cli import app, deployment, emit_json, notice

JSON = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")
if TYPE_CHECKING:
    from loyalcode.channels.cases import PackResult

#: GS1's global resolver, where a Digital Link without a brand resolver of its own points.
DEFAULT_DIGITAL_LINK_HOST = "id.gs1.org"
BY = typer.Option(None, "--by", help="Who does it (default: the login name).")

case_app = typer.Typer(help="Cases and pallets (SSCC-18): create, pack, upload, move, show.",
                       no_args_is_help=True)
app.add_typer(case_app, name="case")
shipment_app = typer.Typer(help="Shipments scan by scan: open, add, close, show.",
                           no_args_is_help=True)
app.add_typer(shipment_app, name="shipment")


def _who(by: str | None) -> str | None:
    if by is not None:
        return by
    try:
        return getpass.getuser()[:64]
    except (OSError, KeyError):  # no login name in this environment
        return None


def _codes(codes: list[str]) -> list[str]:
    """The codes given, or one a line from stdin for ``-`` (blank lines skipped)."""
    if codes == ["-"]:
        return [t.strip() for t in sys.stdin.read().splitlines() if t.strip()]
    return codes


def _print_shipment(info, json_out: bool) -> None:  # type: ignore[no-untyped-def]
    if json_out:
        emit_json(info.to_dict())
        return
    where = info.channel or "(deactivated)"
    units = f", {info.units:,} units" if info.units is not None else ""
    typer.echo(f"Shipment {info.id} ({info.kind}, {info.status}) to {where}: "
               f"{info.scans} scans{units}.")


@case_app.command("create")
def case_create(
    count: int = typer.Option(0, "--count", help="Cases to create."),
    pallets: int = typer.Option(0, "--pallets", help="Pallets to create."),
    json_out: bool = JSON,
) -> None:
    """Allocate SSCCs for empty cases (and pallets), one a line on stdout, so their
    labels can be printed before packing."""
    from loyalcode.channels.cases import Gs1Settings, create_units

    with deployment() as ctx:
        settings = Gs1Settings.from_config(ctx.config)
        with ctx.session() as s, s.begin():
            made = create_units(s, settings, cases=count, pallets=pallets)
    if json_out:
        emit_json(made.to_dict())
        return
    for code in made.cases:
        typer.echo(f"case\t{code}")
    for code in made.pallets:
        typer.echo(f"pallet\t{code}")


def pack_batch(ctx: Any, batch_id: int | str, per_case: int, cases_per_pallet: int | None,
               session: Any) -> PackResult:
    """Pack a batch by sequence in the caller's transaction (``batch create`` uses it)."""
    from loyalcode.channels.cases import Gs1Settings, pack_by_sequence

    settings = Gs1Settings.from_config(ctx.config)
    return pack_by_sequence(session, settings, batch_id, per_case=per_case,
                            cases_per_pallet=cases_per_pallet, actor=_who(None))


@case_app.command("pack")
def case_pack(
    batch_id: str = typer.Argument(..., metavar="BATCH", help="Batch id."),
    per_case: int = typer.Option(..., "--per-case", help="Units a case, in sequence order."),
    cases_per_pallet: int | None = typer.Option(None, "--cases-per-pallet", help="Cases a pallet."),
    json_out: bool = JSON,
) -> None:
    """Pack a batch by sequence: consecutive sequences into consecutive new cases (and
    those onto new pallets). For a line that packs in order: no upload."""
    with deployment() as ctx, ctx.session() as s, s.begin():
        done = pack_batch(ctx, batch_id, per_case, cases_per_pallet, s)
    if json_out:
        emit_json(done.to_dict())
    else:
        typer.echo(f"Batch {done.batch}: {len(done.cases):,} cases of {done.per_case}"
                   f", {len(done.pallets):,} pallets.")


@case_app.command("upload")
def case_upload(
    path: str = typer.Argument(..., metavar="FILE", help="CASE,UNIT and PALLET,CASE lines ('-': stdin)."),
    by: str | None = BY,
    json_out: bool = JSON,
) -> None:
    """Record the line's aggregation: CASE,UNIT lines (UNIT is BATCH:SEQ or a visible
    serial) and PALLET,CASE lines. Checked whole: a bad line refuses it all."""
    from loyalcode.channels.activation import visible_serials
    from loyalcode.channels.aggregation import upload

    lines = _read(path)
    with deployment() as ctx, ctx.session() as s, s.begin():
        done = upload(s, lines, visible_serials(s), actor=_who(by))
    if json_out:
        emit_json(done.to_dict())
    else:
        typer.echo(f"{done.pairs:,} pairs: {done.units:,} units put in cases ({done.rows:,} rows), "
                   f"{done.unchanged:,} already there, {done.cases_on_pallets:,} cases on pallets.")


def _read(path: str) -> list[str]:
    from loyalcode.errors import InvalidInput

    if path == "-":
        return sys.stdin.read().splitlines()
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            return f.read().splitlines()
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror or type(exc).__name__}.") from None


@case_app.command("move")
def case_move(
    items: list[str] = typer.Argument(..., metavar="UNIT...",
                                      help="Units (BATCH:SEQ or visible serials), or cases to put on a pallet."),
    to: str = typer.Option(..., "--to", help="The SSCC of the case (or pallet) they go to."),
    by: str | None = BY,
    json_out: bool = JSON,
) -> None:
    """Repack: move units into another case (or cases onto another pallet), keeping
    the history."""
    from loyalcode.channels.activation import visible_serials
    from loyalcode.channels.aggregation import move

    with deployment() as ctx, ctx.session() as s, s.begin():
        done = move(s, _codes(items), to, visible_serials(s), actor=_who(by))
    if json_out:
        emit_json(done.to_dict())
    elif done.cases:
        typer.echo(f"{done.cases} cases put on pallet {done.to}.")
    else:
        typer.echo(f"{done.units} units moved into case {done.to} ({done.unchanged} were there).")


@case_app.command("show")
def case_show(code: str = typer.Argument(..., metavar="SSCC"), json_out: bool = JSON) -> None:
    """What a case or pallet holds (counts and ranges) and its history."""
    from loyalcode.channels.cases import describe

    with deployment() as ctx, ctx.session() as s:
        report = describe(s, code)
    if json_out:
        emit_json(report.to_dict())
        return
    typer.echo(f"{report.kind} {report.sscc}: {report.units:,} units"
               + (f", on pallet {report.pallet}" if report.pallet else "")
               + (f", {len(report.cases)} cases" if report.kind == "pallet" else ""))
    for r in report.contents:
        typer.echo(f"  batch {r.batch}\t{r.seq_from}..{r.seq_to}\t{r.count}\tcase {r.case}")
    for h in report.history:
        facts = " ".join(f"{k}={v}" for k, v in h.detail.items() if v is not None)
        typer.echo(f"  {h.at.isoformat()}\t{h.what}\t{facts}")


@shipment_app.command("open")
def shipment_open(
    channel: str = typer.Option(..., "--channel", help="The channel it goes to."),
    by: str | None = BY,
    json_out: bool = JSON,
) -> None:
    """Open a shipment to a channel; prints its id."""
    from loyalcode.channels.shipping import open_shipment

    with deployment() as ctx, ctx.session() as s, s.begin():
        info = open_shipment(s, channel, actor=_who(by))
    _print_shipment(info, json_out)


@shipment_app.command("add")
def shipment_add(
    shipment: str = typer.Argument(..., metavar="ID"),
    codes: list[str] = typer.Argument(..., metavar="CODE...",
                                      help="SSCCs of cases or pallets, visible serials of units; '-': stdin."),
    json_out: bool = JSON,
) -> None:
    """Add scans to an open shipment (a repeated scan changes nothing)."""
    from loyalcode.channels.activation import visible_serials
    from loyalcode.channels.shipping import add_scan

    with deployment() as ctx, ctx.session() as s, s.begin():
        serials = visible_serials(s)
        done = [add_scan(s, shipment, code, serials) for code in _codes(codes)]
    for r in done:
        if json_out:
            emit_json(r.to_dict())
        else:
            typer.echo(f"{r.kind}\t{r.code}\t{r.units} units" + ("" if r.added else "\t(repeat)"))


@shipment_app.command("close")
def shipment_close(shipment: str = typer.Argument(..., metavar="ID"), by: str | None = BY,
                   json_out: bool = JSON) -> None:
    """Close a shipment: every unit inside is activated for its channel."""
    from loyalcode.channels.shipping import close_shipment

    with deployment() as ctx, ctx.session() as s, s.begin():
        info = close_shipment(s, shipment, actor=_who(by))
    _print_shipment(info, json_out)


@shipment_app.command("show")
def shipment_show(shipment: str = typer.Argument(..., metavar="ID"), json_out: bool = JSON) -> None:
    """One shipment."""
    from loyalcode.channels.shipping import shipment_info

    with deployment() as ctx, ctx.session() as s:
        info = shipment_info(s, shipment)
    _print_shipment(info, json_out)


@app.command("ship")
def ship_cmd(
    codes: list[str] = typer.Argument(..., metavar="CODE...",
                                      help="SSCCs of cases or pallets, visible serials of units; '-': stdin."),
    channel: str = typer.Option(..., "--channel", help="The channel they go to."),
    by: str | None = BY,
    json_out: bool = JSON,
) -> None:
    """Ship cases, pallets or units to a channel: open, scan and close a shipment in
    one transaction. Every unit inside is activated for the channel."""
    from loyalcode.channels.activation import visible_serials
    from loyalcode.channels.shipping import ship

    found = _codes(codes)
    with deployment() as ctx, ctx.session() as s, s.begin():
        info = ship(s, channel, found, visible_serials(s), actor=_who(by))
    _print_shipment(info, json_out)


@app.command("return")
def return_cmd(
    codes: list[str] = typer.Argument(..., metavar="CODE...",
                                      help="SSCCs of cases or pallets, visible serials of units; '-': stdin."),
    to_channel: str | None = typer.Option(
        None, "--to-channel", help="A warehouse channel they move to (default: deactivate them)."),
    by: str | None = BY,
    json_out: bool = JSON,
) -> None:
    """Returns (退货): deactivate the units (a scan gets not_activated), or move them to
    a warehouse channel."""
    from loyalcode.channels.activation import visible_serials
    from loyalcode.channels.shipping import return_units

    found = _codes(codes)
    with deployment() as ctx, ctx.session() as s, s.begin():
        info = return_units(s, found, visible_serials(s), to_channel=to_channel, actor=_who(by))
    _print_shipment(info, json_out)
    if info.channel is None:
        notice(f"{info.units:,} units deactivated.")


@app.command("print-logistic")
def print_logistic_cmd(
    codes: list[str] = typer.Argument(
        ..., metavar="SSCC...",
        help="SSCCs of cases or pallets; '-': one a line from stdin (the last field of a line, "
             "so `case create` output pipes in)."),
    template: str = typer.Option("a6-sscc", "--template", "-t",
                                 help="A case and pallet template: a6-sscc (PDF), 4x6-sscc (thermal)."),
    fmt: str = typer.Option("pdf", "--format", "-f", help="pdf, png (a directory of pages) or zpl."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (pdf, zpl) or directory (png)."),
    dpi: int | None = typer.Option(None, "--dpi", help="Printer resolution (default 300; zpl 203)."),
    ec: str = typer.Option("M", "--ec", help="QR error correction level: L, M, Q or H."),
    host: str | None = typer.Option(
        None, "--host", help="Digital Link host (default: [gs1] digital_link_host, else id.gs1.org)."),
    font: Path | None = typer.Option(None, "--font", help="Font file for the text (CJK product names)."),
    templates_file: Path | None = typer.Option(
        None, "--templates", metavar="FILE", help="TOML or JSON file of extra label templates."),
    json_out: bool = JSON,
) -> None:
    """Print case and pallet labels: the SSCC as GS1-128 and as a GS1 Digital Link QR,
    with the product, quantity and batch inside."""
    from loyalcode.channels.cases import label_facts
    from loyalcode.printing.logistic import labels_from_facts, print_logistic
    from loyalcode.printing.output import preflight
    from loyalcode.printing.templates import get_template

    tmpl = get_template(template, templates_file)
    preflight(out, fmt)
    wanted = [line.split()[-1] for line in _codes(codes) if line.split()]
    with deployment() as ctx:
        resolver = host or ctx.config.section("gs1").get("digital_link_host") or DEFAULT_DIGITAL_LINK_HOST
        with ctx.session() as s:
            facts = [label_facts(s, code).to_dict() for code in wanted]
    result = print_logistic(labels_from_facts(facts), out, tmpl, host=str(resolver), fmt=fmt, dpi=dpi,
                            ec=ec, font=str(font) if font else None)
    if json_out:
        emit_json({**result.to_dict(), "ssccs": [f["sscc"] for f in facts]})
    else:
        notice(f"Printed {result.labels:,} case and pallet labels on {result.pages:,} pages to "
               f"{result.path} ({result.format}, {result.dpi} dpi).")
