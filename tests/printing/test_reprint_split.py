"""Reprints by visible serial (`print`/`export --from/--to`, read as `activate` reads them)
and `print --split N` (one atomic output per N labels) for PDF, PNG and ZPL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalcode.printing.errors import InvalidSplit
from loyalcode.printing.run import PrintOptions
from loyalcode.printing.split import part_path, print_split, split_chunks
from loyalcode.printing.templates import BUILTIN
from tests.printing.support import decode, pdf_pages, png_pages, synthetic_chunks
from tests.printing.test_cli_print import _assert_refused, _batch, _exported


def _zpl_payloads(path: Path) -> list[str]:
    return re.findall(r"\^FDMM,A(.*?)\^FS", path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("fmt", ["pdf", "png", "zpl"])
def test_reprint_by_visible_serial(cli, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    batch = _batch(cli, 60)
    exported = _exported(cli, batch)
    template = "roll-50x30" if fmt == "png" else "a4-3x8"
    out = tmp_path / {"pdf": "r.pdf", "png": "pages", "zpl": "r.zpl"}[fmt]
    first, last = exported[25][1], exported[27][1]  # the serials read off two labels
    result = cli("print", str(batch), "--template", template, "--format", fmt, "--out", str(out),
                 "--from", first.lower(), "--to", f" {last} ", "--json")
    assert result.exit_code == 0, result.stderr
    assert (result.json()["seq_from"], result.json()["seq_to"], result.json()["labels"]) == (25, 27, 3)
    wanted = [exported[s][2] for s in (25, 26, 27)]
    if fmt == "pdf":
        assert sorted(f.text for f in decode(pdf_pages(out, 200)[0])) == sorted(wanted)
    elif fmt == "png":
        assert [f.text for page in png_pages(out) for f in decode(page)] == wanted
    else:
        assert _zpl_payloads(out) == wanted


def test_export_takes_visible_serials_and_refuses_as_activate_does(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    batch = _batch(cli, 60)
    exported = _exported(cli, batch)
    tmp_path = tmp_path / "out"  # the database lives beside
    tmp_path.mkdir()
    by_serial = cli("export", str(batch), "--from", exported[10][1], "--to", "12", "--serial")
    by_seq = cli("export", str(batch), "--from", "10", "--to", "12", "--serial")
    assert by_serial.exit_code == 0 and by_serial.stdout == by_seq.stdout
    assert len(by_serial.stdout.strip().splitlines()) == 4  # header + 3 rows
    for command in (["export", str(batch)], ["print", str(batch), "--template", "a4-3x8",
                                             "--out", str(tmp_path / "x.pdf")]):
        r = cli(*command, "--from", "x7", "--json")
        assert r.exit_code == 1 and r.json()["error"] == {
            "code": "invalid_input",
            "message": "--from is neither a sequence number nor a visible serial of this deployment.",
        }
        r = cli(*command, "--from", exported[30][1], "--to", exported[20][1], "--json")
        assert r.exit_code == 1 and r.json()["error"]["code"] == "range_outside_batch"
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("fmt, template, split, sizes", [
    ("pdf", "a4-3x8", 24, [24, 24, 12]),
    ("zpl", "roll-50x30", 7, [7, 7, 7, 7, 7, 7, 7, 7, 4]),
    ("png", "letter-3x10", 30, [30, 30]),
])
def test_split_writes_one_output_per_n_labels(cli, tmp_path: Path, fmt: str, template: str, split: int,
                                              sizes: list[int]) -> None:  # type: ignore[no-untyped-def]
    batch = _batch(cli, 60)
    exported = _exported(cli, batch)
    tmp_path = tmp_path / "out"  # the database lives beside
    tmp_path.mkdir()
    out = tmp_path / {"pdf": "batch1.pdf", "png": "pages", "zpl": "batch1.zpl"}[fmt]
    result = cli("print", str(batch), "--template", template, "--format", fmt, "--out", str(out),
                 "--split", str(split), "--json")
    assert result.exit_code == 0, result.stderr
    summary = result.json()
    files = summary["files"]
    assert [f["labels"] for f in files] == sizes and summary["labels"] == 60
    assert [Path(f["path"]).name for f in files] == [part_path(out, i, fmt).name for i in range(1, len(sizes) + 1)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(Path(f["path"]).name for f in files)
    seq = 1
    for f in files:
        assert (f["seq_from"], f["seq_to"]) == (seq, seq + f["labels"] - 1)
        wanted = [exported[s][2] for s in range(f["seq_from"], f["seq_to"] + 1)]
        path = Path(f["path"])
        if fmt == "pdf":
            pages = pdf_pages(path, 200)
            assert len(pages) == f["pages"] == -(-f["labels"] // 24)
            assert sorted(x.text for page in pages for x in decode(page)) == sorted(wanted)
        elif fmt == "png":
            assert sorted(x.text for page in png_pages(path) for x in decode(page)) == sorted(wanted)
        else:
            assert _zpl_payloads(path) == wanted
        seq += f["labels"]


def test_split_must_be_whole_pages_of_a_sheet(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    batch = _batch(cli, 60)
    out = tmp_path / "out"
    out.mkdir()
    r = cli("print", str(batch), "--template", "a4-3x8", "--split", "25", "--out", str(out / "b.pdf"), "--json")
    _assert_refused(r, "invalid_split", out, set())
    assert "use 24 or 48" in r.json()["error"]["message"]
    r = cli("print", str(batch), "--template", "a4-3x8", "--split", "0", "--out", str(out / "b.pdf"))
    assert r.exit_code != 0 and not list(out.iterdir())


def test_an_interrupted_split_run_leaves_only_whole_parts(tmp_path: Path) -> None:
    chunks = synthetic_chunks(30, chunk=4)

    def failing() -> Iterator:  # type: ignore[type-arg]
        for chunk in chunks:
            if chunk.seq_start > 20:
                raise KeyboardInterrupt
            yield chunk

    out = tmp_path / "run.zpl"
    with pytest.raises(KeyboardInterrupt):
        print_split(failing(), out, PrintOptions(template=BUILTIN["roll-40x30"], fmt="zpl"), split=8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-0001.zpl", "run-0002.zpl"]
    assert [p.read_text().count("^XZ") for p in sorted(tmp_path.iterdir())] == [8, 8]
    with pytest.raises(InvalidSplit):
        print_split(chunks, out, PrintOptions(template=BUILTIN["a4-3x8"], fmt="pdf"), split=10)


def test_split_chunks_regroups_across_chunk_boundaries() -> None:
    chunks = synthetic_chunks(23, chunk=5)
    parts = [[(c.seq_start, list(c.codes)) for c in part] for part in split_chunks(chunks, 7)]
    codes = [code for chunk in chunks for code in chunk.codes]
    assert [sum(len(c) for _, c in part) for part in parts] == [7, 7, 7, 2]
    for i, part in enumerate(parts):
        assert part[0][0] == 7 * i + 1
        assert [code for _, c in part for code in c] == codes[7 * i: 7 * i + 7]
