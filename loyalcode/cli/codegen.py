"""Commands of the hidden code: batch create|list|show|void, export, check."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import typer

from loyalcode.cli import app, emit_json, notice, open_deployment, plural, progress
from loyalcode.errors import InvalidInput, LoyalcodeError
from loyalcode.store.timeutil import business_zone_name

JSON = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")
ALLOW_EXAMPLE = typer.Option(
    False, "--allow-example-domain",
    help="Issue codes whose QR payload is still the LC.EXAMPLE.COM placeholder (a trial run).",
)

batch_app = typer.Typer(help="Batches of hidden codes.", no_args_is_help=True)
app.add_typer(batch_app, name="batch")


_context = open_deployment  # a short-lived command: the process exit closes the pool


# --- init and db --------------------------------------------------------------------


# --- channels -----------------------------------------------------------------------


# --- batches ------------------------------------------------------------------------


def _batch_dict(info, zone: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """A batch's JSON: its instants with their offset, and the business time zone its
    dates (``produced_on``, ``redeem_from``, ``redeem_until``) are days in."""
    return {**info.to_dict(), "timezone": zone}


def _print_batch(info, json_out: bool, zone: str) -> None:  # type: ignore[no-untyped-def]
    if json_out:
        emit_json(_batch_dict(info, zone))
        return
    window = ""
    if info.redeem_from or info.redeem_until:
        window = f", redeems {info.redeem_from or '...'}..{info.redeem_until or '...'} ({zone})"
    typer.echo(
        f"Batch {info.id}: {info.quantity:,} {plural(info.quantity, 'code')}, SKU {info.sku}, "
        f"{info.points} {plural(info.points, 'point')} each, "
        f"serials {info.serial_start}..{info.serial_end - 1}, status {info.status}"
        + (f", channel {info.channel}" if info.channel else "") + window
    )


@batch_app.command("create")
def batch_create(
    sku: str = typer.Option(..., "--sku", help="Product SKU."),
    quantity: str = typer.Option(..., "--quantity", help="Number of codes (1 to 100,000,000)."),
    points: str = typer.Option(..., "--points", help="Points each code credits."),
    name: str | None = typer.Option(None, "--name", help="Product name."),
    gtin: str | None = typer.Option(None, "--gtin", help="GTIN-8/12/13/14 of the product."),
    channel: str | None = typer.Option(None, "--channel", help="Default channel code."),
    line: str | None = typer.Option(None, "--line", help="Production line."),
    produced_on: str | None = typer.Option(None, "--produced-on", help="YYYY-MM-DD."),
    redeem_from: str | None = typer.Option(None, "--redeem-from", help="YYYY-MM-DD, first day codes redeem."),
    redeem_until: str | None = typer.Option(None, "--redeem-until", help="YYYY-MM-DD, last day codes redeem."),
    payload: str | None = typer.Option(
        None, "--payload", help="QR payload template with {code}, {serial}, {gtin}, {batch}."
    ),
    per_case: int | None = typer.Option(
        None, "--per-case", help="Pack by sequence: units a case (new SSCCs; needs [gs1])."
    ),
    cases_per_pallet: int | None = typer.Option(
        None, "--cases-per-pallet", help="With --per-case: cases a pallet."
    ),
    json_out: bool = JSON,
) -> None:
    """Create a batch: allocates a serial range (O(1) rows, whatever the quantity)."""
    from loyalcode.channels.batches import batch_info, create_batch
    from loyalcode.cli.logistics import pack_batch

    if cases_per_pallet is not None and per_case is None:
        raise InvalidInput("--cases-per-pallet packs cases: give --per-case too.")

    ctx = _context()
    template = payload if payload is not None else ctx.config.payload_template
    with ctx.session() as s, s.begin():
        row = create_batch(
            s,
            sku=sku,
            quantity=quantity,
            points=points,
            payload_template=template,
            name=name,
            gtin=gtin,
            channel=channel,
            line=line,
            produced_on=produced_on,
            redeem_from=redeem_from,
            redeem_until=redeem_until,
        )
        packed = pack_batch(ctx, row.id, per_case, cases_per_pallet, s) if per_case else None
        info = batch_info(s, row)
    _print_batch(info, json_out, business_zone_name(ctx.config))
    if packed is not None:
        notice(f"Packed by sequence: {len(packed.cases):,} cases, {len(packed.pallets):,} pallets.")
    _warn_example_domain(info)


def _warn_example_domain(info) -> None:  # type: ignore[no-untyped-def]
    from loyalcode.codegen.batches import uses_example_domain

    if uses_example_domain(info.payload_template):
        notice(
            f"warning: batch {info.id}'s QR payload is the placeholder {info.payload_template}. "
            f"Set your domain before exporting or printing: loyalcode batch update {info.id} "
            "--payload 'HTTPS://QR.BRAND.CN/C/{code}' (and loyalcode init --base-url URL for "
            "new batches)."
        )


@batch_app.command("update")
def batch_update(
    batch_id: str = typer.Argument(..., metavar="ID"),
    payload: str = typer.Option(
        ..., "--payload", help="New QR payload template with {code}, {serial}, {gtin}, {batch}."
    ),
    json_out: bool = JSON,
) -> None:
    """Change a batch's QR payload template, until its codes are first exported or printed."""
    from loyalcode.channels.batches import batch_info
    from loyalcode.codegen.batches import update_payload

    ctx = _context()
    with ctx.session() as s, s.begin():
        info = batch_info(s, update_payload(s, batch_id, payload))
    _print_batch(info, json_out, business_zone_name(ctx.config))
    if not json_out:
        notice(f"Batch {info.id}'s QR payload: {info.payload_template}")
    _warn_example_domain(info)


@batch_app.command("list")
def batch_list(json_out: bool = JSON) -> None:
    """List batches, newest first."""
    from loyalcode.channels.batches import list_batches

    ctx = _context()
    with ctx.session() as s:
        rows = list_batches(s)
    if json_out:
        emit_json([_batch_dict(r, business_zone_name(ctx.config)) for r in rows])
        return
    for r in rows:
        typer.echo(f"{r.id}\t{r.status}\t{r.quantity}\t{r.sku}\t{r.channel or '-'}\t{r.name or ''}")


@batch_app.command("show")
def batch_show(batch_id: str = typer.Argument(..., metavar="ID"), json_out: bool = JSON) -> None:
    """Show one batch."""
    from loyalcode.channels.batches import batch_info
    from loyalcode.codegen.batches import get_batch

    ctx = _context()
    with ctx.session() as s:
        info = batch_info(s, get_batch(s, batch_id))
    _print_batch(info, json_out, business_zone_name(ctx.config))


@batch_app.command("void")
def batch_void(
    batch_id: str = typer.Argument(..., metavar="ID"),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    json_out: bool = JSON,
) -> None:
    """Void a batch: none of its codes redeems any more (there is no un-void). Asks for
    confirmation unless --yes."""
    from loyalcode.channels.batches import batch_info
    from loyalcode.codegen.batches import get_batch, void_batch

    ctx = _context()
    if not yes:
        with ctx.session() as s:
            info = batch_info(s, get_batch(s, batch_id))
        if info.status != "void":
            question = (f"Void batch {info.id} ({info.quantity:,} codes of {info.sku}"
                        f"{f', {info.name}' if info.name else ''})? None of its codes will "
                        "redeem again, and this cannot be undone.")
            try:
                confirmed = typer.confirm(question, default=False, err=True)
            except typer.Abort:  # end of input, Ctrl-C
                confirmed = False
            if not confirmed:
                raise NotConfirmed(batch=info.id)
    with ctx.session() as s, s.begin():
        info = batch_info(s, void_batch(s, batch_id))
    _print_batch(info, json_out, business_zone_name(ctx.config))


class NotConfirmed(LoyalcodeError):
    code = "not_confirmed"
    template = "Batch {batch} was not voided: answer y at the prompt, or pass --yes."


# --- export and check ---------------------------------------------------------------


@app.command("export")
def export_cmd(
    batch_id: str = typer.Argument(..., metavar="ID"),
    seq_from: str | None = typer.Option(
        None, "--from", help="First sequence number (from 1) or a visible serial."
    ),
    seq_to: str | None = typer.Option(
        None, "--to", help="Last sequence number (inclusive) or a visible serial."
    ),
    fmt: str = typer.Option("csv", "--format", help="csv (seq,code,payload) or txt (payloads)."),
    with_serial: bool = typer.Option(False, "--serial", help="Add the visible serial column."),
    out: Path | None = typer.Option(None, "--out", help="Output file, 0600 (default: stdout)."),
    stream: bool = typer.Option(
        False, "--stream", help="Write straight to --out, no temporary file: a device or a FIFO."
    ),
    json_out: bool = typer.Option(False, "--json", help="With --out: a JSON summary on stdout."),
    allow_example_domain: bool = ALLOW_EXAMPLE,
) -> None:
    """Stream a batch's codes (or a seq range) as CSV or TXT for line coders."""
    from loyalcode.codegen.batches import (
        issue_batch,
        require_not_void,
        require_real_domain,
        seq_range,
    )
    from loyalcode.codegen.export import FORMATS, iter_export, write_export
    from loyalcode.codegen.visible import for_salt, position_range
    from loyalcode.store.files import check_output

    if fmt not in FORMATS:
        raise InvalidInput(f"Unknown format {fmt!r}: use csv or txt.")
    if with_serial and fmt == "txt":
        raise InvalidInput(
            "--serial adds a column, and txt has one payload a line: use --format csv, or put "
            "{serial} in the batch's payload template."
        )
    if out is not None:
        check_output(out, stream=stream)
    ctx = _context()
    keyring = ctx.keyring()  # first: a wrong or missing key records no issue
    salt = ctx.visible_salt()
    with ctx.session() as s, s.begin():  # a refusal rolls back the record of the issue
        batch = issue_batch(s, batch_id)
        require_not_void(batch)
        start, end = seq_range(batch, *position_range(batch, seq_from, seq_to, for_salt(salt)))
        require_real_domain(batch, allow_example=allow_example_domain)
    pieces = iter_export(
        batch, keyring, fmt=fmt, seq_from=start, seq_to=end, with_serial=with_serial, visible_salt=salt
    )
    total = end - start + 1
    label = f"export batch {batch.id}"
    if out is None:
        with progress(total, label) as bar:
            codes, size = write_export(pieces, sys.stdout.buffer, bar.update)
            sys.stdout.flush()
    else:
        # The bar starts only once the file is open: an unwritable --out is refused
        # with its one error line, not a progress label before it.
        codes, size = _write_file(out, stream, pieces, lambda: progress(total, label))
    if json_out and out is not None:
        emit_json({"batch": batch.id, "from": start, "to": end, "count": codes, "format": fmt,
                   "bytes": size, "out": str(out)})
    elif out is not None:
        notice(f"Wrote {codes:,} {plural(codes, 'code')} of batch {batch.id} to {out}.")


def _write_file(out: Path, stream: bool, pieces, make_bar):  # type: ignore[no-untyped-def]
    """Write the export to ``out`` whole or not at all (0600), or straight with ``stream``;
    SIGTERM and SIGHUP clean up as Ctrl-C does."""
    from loyalcode.codegen.export import write_export
    from loyalcode.store.files import AtomicFile, interrupt_on_termination

    with interrupt_on_termination(), AtomicFile(out, stream=stream) as f, make_bar() as bar:
        return write_export(pieces, f, bar.update)


@app.command("check")
def check_cmd(
    codes: list[str] = typer.Argument(..., help="Codes or scanned payloads; '-' reads one per line from stdin."),
    json_out: bool = JSON,
) -> None:
    """Validate codes offline: ok, typo, malformed or forged (no code state read)."""
    import json

    from loyalcode.codegen.checking import check_codes

    keyring = _context().keyring()
    source: Iterator[str]
    if codes == ["-"]:
        source = (line.rstrip("\r\n") for line in sys.stdin)
    else:
        source = iter(codes)
    all_ok = True
    out = sys.stdout
    buf: list[str] = []
    dumps = json.dumps
    for r in check_codes(keyring, source):
        if r.status != "ok":
            all_ok = False
        if json_out:
            code = f'"{r.code}"' if r.code else "null"
            text = r.input
            quoted = (
                f'"{text}"'  # plain printable ASCII needs no escaping
                if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text
                else dumps(text, ensure_ascii=False)
            )
            buf.append(f'{{"input": {quoted}, "status": "{r.status}", "code": {code}}}\n')
        else:
            buf.append(f"{r.status}\t{r.code if r.code else r.input}\n")
        if len(buf) >= 8192:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))
    out.flush()
    if not all_ok:
        # SystemExit, not typer.Exit: under standalone_mode=False click turns Exit into a
        # return value, which main() drops, and the command exited 0 on a forged code.
        raise SystemExit(1)
