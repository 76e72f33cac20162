"""``loyalcode print`` and ``loyalcode templates``: thin shells over :mod:`loyalcode.printing`."""

from __future__ import annotations

from pathlib import Path

import typer

from loyalcode.cli import app, emit_json, notice, open_deployment, plural, progress

TEMPLATES_OPTION = typer.Option(
    None, "--templates", metavar="FILE",
    help="TOML or JSON file of extra label templates (default: $LOYALCODE_TEMPLATES).",
)


@app.command("templates")
def templates_cmd(
    templates_file: Path | None = TEMPLATES_OPTION,
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """List the label templates (sizes in mm) known to `print`."""
    from loyalcode.printing.templates import all_templates

    known = all_templates(templates_file)
    if json_out:
        emit_json([t.to_dict() for t in known.values()])
        return
    for t in known.values():
        typer.echo(
            f"{t.name:<16} {f'{t.columns}x{t.rows}':<5} label {t.label_mm[0]:g}x{t.label_mm[1]:g} mm  "
            f"page {t.page_mm[0]:g}x{t.page_mm[1]:g} mm  QR {t.qr_size_mm:g} mm  {t.description}"
        )


@app.command("print")
def print_cmd(
    batch_id: str = typer.Argument(..., metavar="ID"),
    template: str = typer.Option(..., "--template", "-t", help="Label template (see `loyalcode templates`)."),
    fmt: str = typer.Option("pdf", "--format", "-f", help="pdf, png (a directory of pages) or zpl."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (pdf, zpl) or directory (png)."),
    stream: bool = typer.Option(
        False, "--stream",
        help="Write straight to --out, no temporary file: a printer device (/dev/usb/lp0) or a FIFO.",
    ),
    dpi: int | None = typer.Option(
        None, "--dpi", help="Printer resolution, 72-1200 (default 300; zpl: 203, also 152/300/600)."
    ),
    seq_from: str | None = typer.Option(
        None, "--from", help="First sequence number (from 1) or a visible serial."
    ),
    seq_to: str | None = typer.Option(
        None, "--to", help="Last sequence number (inclusive) or a visible serial."
    ),
    ec: str = typer.Option("M", "--ec", help="QR error correction level: L, M, Q or H."),
    caption: str | None = typer.Option(None, "--caption", help="A caption line on every label."),
    font: Path | None = typer.Option(
        None, "--font", help="Font file for the caption (default: located; CJK needs a CJK font)."
    ),
    no_serial: bool = typer.Option(False, "--no-serial", help="Leave the visible serial off."),
    outer_code: bool = typer.Option(
        False, "--outer-code",
        help="Also print the visible serial as a DataMatrix in the template's outer box "
             "(outside the scratch-off area: a4-3x8-outer, roll-60x40-outer).",
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Rendering processes (default: all cores for large runs)."
    ),
    split: int | None = typer.Option(
        None, "--split", metavar="N",
        help="One output per N labels: OUT-0001.pdf, ... (png: OUT-0001/, ...); pdf/png: whole pages.",
    ),
    templates_file: Path | None = TEMPLATES_OPTION,
    json_out: bool = typer.Option(False, "--json", help="A JSON summary on stdout."),
    allow_example_domain: bool = typer.Option(
        False, "--allow-example-domain",
        help="Print codes whose QR payload is still the LC.EXAMPLE.COM placeholder (a trial run).",
    ),
) -> None:
    """Render a batch (or a seq range of it) as label sheets, roll labels or ZPL."""
    from loyalcode.codegen.batches import (
        issue_batch,
        require_not_void,
        require_real_domain,
        seq_range,
    )
    from loyalcode.codegen.labels import iter_label_chunks
    from loyalcode.codegen.visible import for_salt, position_range
    from loyalcode.printing.errors import InvalidFormat
    from loyalcode.printing.layout import check_dpi
    from loyalcode.printing.output import preflight
    from loyalcode.printing.qr import check_ec
    from loyalcode.printing.run import FORMATS, PrintOptions, prepare, print_labels
    from loyalcode.printing.split import check_split, part_path, print_split
    from loyalcode.printing.templates import get_template

    # Cheap checks first: a typo in an option should not wait for the database.
    tmpl = get_template(template, templates_file)
    if fmt not in FORMATS:
        raise InvalidFormat(value=fmt, choices=", ".join(FORMATS))
    if dpi is not None:
        check_dpi(dpi)
    check_ec(ec)
    if split is not None:
        if stream:
            from loyalcode.errors import InvalidInput

            raise InvalidInput("--split writes several files: it cannot --stream to one device.")
        check_split(split, tmpl, fmt)
    preflight(part_path(out, 1, fmt) if split is not None else out, fmt, stream=stream)
    options = PrintOptions(
        template=tmpl, fmt=fmt, dpi=dpi, ec=ec, with_serial=not no_serial,
        caption=caption, font=str(font) if font else None, workers=workers, outer_code=outer_code,
    )
    ctx = open_deployment()  # not_initialized, never a new file, on a missing database
    try:
        keyring = ctx.keyring()  # first: a wrong or missing key records no issue
        salt = ctx.visible_salt()
        with ctx.session() as s, s.begin():  # a refusal rolls back the record of the issue
            batch = issue_batch(s, batch_id)
            require_not_void(batch)
            start, end = seq_range(batch, *position_range(batch, seq_from, seq_to, for_salt(salt)))
            require_real_domain(batch, allow_example=allow_example_domain)

        def chunks(first: int, last: int, size: int = 4096):  # type: ignore[no-untyped-def]
            return iter_label_chunks(
                batch, keyring, first, last, with_serial=not no_serial, visible_salt=salt,
                chunk_size=size,
            )

        # The longest payloads decide the QR version: the first labels and the last one.
        sample = next(chunks(start, min(end, start + 255)))
        last = next(chunks(end, end))
        spec = prepare(
            options, [*sample.payloads, *last.payloads],
            [*(sample.serials or ()), *(last.serials or ())] if not no_serial else None,
        )
        total = end - start + 1
        with progress(total, f"print batch {batch.id}") as bar:
            if split is not None:
                result = print_split(chunks(start, end), out, options, split=split, spec=spec,
                                     total=total, on_progress=bar.update)
            else:
                result = print_labels(
                    chunks(start, end), out, options, spec=spec, total=total, on_progress=bar.update,
                    stream=stream,
                )
    finally:
        ctx.dispose()
    if json_out:
        emit_json({"batch": batch.id, **result.to_dict()})
    else:
        where = result.path if not result.files else (
            f"{len(result.files)} files ({result.files[0].path} .. {result.files[-1].path})"
        )
        notice(
            f"Printed {result.labels:,} {plural(result.labels, 'label')} (seq {result.seq_from}-"
            f"{result.seq_to}) of batch {batch.id} on {result.pages:,} "
            f"{plural(result.pages, 'page')} to {where} "
            f"({result.format}, {result.dpi} dpi, {result.seconds:.1f} s)."
        )
