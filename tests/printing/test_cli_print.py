"""`loyalcode print` against a real database: every printed label is its exported code."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from loyalcode.codegen.normalize import normalize_scan
from tests.conftest import BRAND
from tests.printing.support import decode, pdf_pages, png_pages


def _batch(cli, quantity: int = 60, payload: str | None = BRAND) -> int:  # type: ignore[no-untyped-def]
    args = ["batch", "create", "--sku", "SKU-1", "--quantity", str(quantity), "--points", "5", "--json"]
    if payload:
        args += ["--payload", payload]
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    return int(result.json()["id"])


def _exported(cli, batch: int) -> dict[int, tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    result = cli("export", str(batch), "--format", "csv", "--serial")
    assert result.exit_code == 0, result.stderr
    rows = csv.DictReader(io.StringIO(result.stdout))
    return {int(r["seq"]): (r["code"].replace("-", ""), r["serial"], r["payload"]) for r in rows}


def test_print_pdf_every_label_is_its_exported_code(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    batch = _batch(cli, 60)
    exported = _exported(cli, batch)
    out = tmp_path / "sheet.pdf"
    result = cli("print", str(batch), "--template", "a4-3x8", "--from", "5", "--to", "52",
                 "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    summary = result.json()
    assert (summary["labels"], summary["pages"], summary["format"]) == (48, 2, "pdf")
    assert (summary["seq_from"], summary["seq_to"]) == (5, 52)
    by_code = {code: seq for seq, (code, _, _) in exported.items()}
    seen = []
    for p, page in enumerate(pdf_pages(out, 200)):
        for found in decode(page):
            code = normalize_scan(found.text)  # the payload normalises back to the code...
            seq = by_code[code]
            assert exported[seq][2] == found.text  # ...and is that label's exported payload
            assert p == (seq - 5) // 24  # on the page its seq belongs to
            seen.append(seq)
    assert sorted(seen) == list(range(5, 53))


@pytest.mark.parametrize("fmt", ["png", "zpl"])
def test_print_png_and_zpl(cli, tmp_path: Path, fmt: str, cjk_font: str) -> None:  # type: ignore[no-untyped-def]
    batch = _batch(cli, 5)
    exported = _exported(cli, batch)
    out = tmp_path / ("pages" if fmt == "png" else "labels.zpl")
    result = cli("print", str(batch), "--template", "roll-50x30", "--format", fmt, "--out", str(out),
                 "--caption", "刮开涂层 扫码积分")
    assert result.exit_code == 0, result.stderr
    if fmt == "png":
        texts = [f.text for page in png_pages(out) for f in decode(page)]
        assert texts == [exported[s][2] for s in range(1, 6)]  # one label per page, in seq order
    else:
        text = out.read_text()
        assert text.count("^XA") == 5
        for seq in range(1, 6):
            assert f"^FDMM,A{exported[seq][2]}^FS" in text and f"^FD{exported[seq][1]}^FS" in text


def _assert_refused(result, code: str, tmp_path: Path, before: set[str]) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"[{code}]" in lines[0], result.stderr
    assert {p.name for p in tmp_path.iterdir()} == before  # no partial output


@pytest.mark.parametrize("args, code", [
    (["--template", "a5-nope"], "template_not_found"),
    (["--template", "a4-3x8", "--dpi", "50"], "invalid_dpi"),
    (["--template", "a4-3x8", "--dpi", "1300"], "invalid_dpi"),
    (["--template", "a4-3x8", "--from", "5", "--to", "61"], "range_outside_batch"),
    (["--template", "a4-3x8", "--from", "0"], "range_outside_batch"),
    (["--template", "a4-3x8", "--format", "tiff"], "invalid_format"),
    (["--template", "too-big"], "template_invalid"),
    (["--template", "a4-3x8", "--caption", "W" * 1000], "invalid_caption"),
    (["--template", "roll-40x30", "--format", "zpl", "--caption", "W" * 300], "invalid_caption"),
    (["--template", "a4-3x8", "--format", "png", "--stream"], "invalid_input"),
])
def test_bad_input_is_one_line_and_no_output(cli, tmp_path: Path, args: list[str], code: str) -> None:  # type: ignore[no-untyped-def]
    batch = _batch(cli, 60)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "too-big", "extends": "a4-3x8", "rows": 9}]))
    extra = ["--templates", str(bad)] if "too-big" in args else []
    out = tmp_path / "out"
    out.mkdir()
    result = cli("print", str(batch), *args, *extra, "--out", str(out / "o.pdf"))
    _assert_refused(result, code, out, set())


def test_unknown_and_void_batch(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    result = cli("print", "999", "--template", "a4-3x8", "--out", str(tmp_path / "o.pdf"), "--json")
    _assert_refused(result, "batch_not_found", tmp_path, set())
    assert result.json()["error"]["code"] == "batch_not_found"
    batch = _batch(cli, 10)
    assert cli("batch", "void", str(batch), "--yes").exit_code == 0
    result = cli("print", str(batch), "--template", "a4-3x8", "--out", str(tmp_path / "o.pdf"))
    _assert_refused(result, "batch_void", tmp_path, set())


def test_unwritable_output_path(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    batch = _batch(cli, 10)
    result = cli("print", str(batch), "--template", "a4-3x8", "--out", str(tmp_path / "missing" / "o.pdf"))
    _assert_refused(result, "output_unwritable", tmp_path, set())
    (tmp_path / "file").write_text("x")
    result = cli("print", str(batch), "--template", "a4-3x8", "--format", "png", "--out", str(tmp_path / "file"))
    _assert_refused(result, "output_unwritable", tmp_path, {"file"})


def test_commands_have_help(cli) -> None:  # type: ignore[no-untyped-def]
    for command in ("print", "templates"):
        result = cli(command, "--help")
        assert result.exit_code == 0 and result.stdout.strip()


def test_print_refuses_a_symlink_or_fifo_and_streams_zpl_to_a_fifo(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import os

    from tests.conftest import FifoReader

    batch = _batch(cli, 10)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "target.pdf"
    target.write_text("theirs")
    (out / "link.pdf").symlink_to(target)
    (out / "pages").symlink_to(out)
    fifo = out / "zebra"
    os.mkfifo(fifo)
    before = {"target.pdf", "link.pdf", "pages", "zebra"}
    for name, fmt in (("link.pdf", "pdf"), ("zebra", "zpl"), ("pages", "png")):
        result = cli("print", str(batch), "-t", "roll-40x30", "-f", fmt, "--out", str(out / name))
        _assert_refused(result, "output_not_regular", out, before)
    assert target.read_text() == "theirs" and (out / "link.pdf").is_symlink()
    with FifoReader(fifo) as got:
        result = cli("print", str(batch), "-t", "roll-40x30", "-f", "zpl", "--out", str(fifo), "--stream")
    assert result.exit_code == 0, result.stderr
    assert got and got[0].count(b"^XA") == 10
    assert {p.name for p in out.iterdir()} == before


def test_print_output_is_0600(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    batch = _batch(cli, 30)
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    (tmp_path / "labels.pdf").write_text("older")
    (tmp_path / "labels.pdf").chmod(0o644)
    for fmt, name in (("pdf", "labels.pdf"), ("zpl", "labels.zpl"), ("png", "pages")):
        result = cli("print", str(batch), "-t", "a4-3x8", "-f", fmt, "--out", str(tmp_path / name))
        assert result.exit_code == 0, result.stderr
    modes = {p.relative_to(tmp_path).as_posix(): p.stat().st_mode & 0o777 for p in tmp_path.rglob("*")}
    assert modes == {"labels.pdf": 0o600, "labels.zpl": 0o600, "pages": 0o700, "pages/page-00001.png": 0o600,
                     "pages/page-00002.png": 0o600}
