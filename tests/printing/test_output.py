"""Atomic output: nothing partial under the final name, whatever goes wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalcode.printing.errors import FontNotFound, InvalidDpi, OutputNotWritable
from loyalcode.printing.run import PrintOptions, print_labels
from loyalcode.printing.templates import BUILTIN
from tests.printing.support import Chunk, synthetic_chunks


class Boom(Exception):
    pass


def _failing(after: int) -> Iterator[Chunk]:
    chunks = synthetic_chunks(200, chunk=24)
    yield from chunks[:after]
    raise Boom("the source failed half-way")


@pytest.mark.parametrize("fmt, name", [("pdf", "out.pdf"), ("png", "pages"), ("zpl", "out.zpl")])
@pytest.mark.parametrize("workers", [1, 2])
def test_failure_half_way_leaves_nothing(tmp_path: Path, fmt: str, name: str, workers: int) -> None:
    with pytest.raises(Boom):
        print_labels(_failing(3), tmp_path / name,
                     PrintOptions(template=BUILTIN["a4-3x8"], fmt=fmt, workers=workers))
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_the_previous_complete_output(tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    options = PrintOptions(template=BUILTIN["a4-3x8"])
    print_labels(synthetic_chunks(30), out, options)
    before = out.read_bytes()
    with pytest.raises(Boom):
        print_labels(_failing(2), out, options)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.pdf"]


def test_unwritable_output(tmp_path: Path) -> None:
    options = PrintOptions(template=BUILTIN["a4-3x8"])
    with pytest.raises(OutputNotWritable) as err:
        print_labels(synthetic_chunks(5), tmp_path / "no-such-dir" / "out.pdf", options)
    assert err.value.code == "output_unwritable"
    with pytest.raises(OutputNotWritable):
        print_labels(synthetic_chunks(5), tmp_path, options)  # a directory, not a file


def test_png_directory_rules(tmp_path: Path) -> None:
    options = PrintOptions(template=BUILTIN["a4-3x8"], fmt="png")
    pages = tmp_path / "pages"
    print_labels(synthetic_chunks(60), pages, options)
    assert sorted(p.name for p in pages.iterdir()) == ["page-00001.png", "page-00002.png", "page-00003.png"]
    print_labels(synthetic_chunks(10), pages, options)  # a reprint replaces the old pages
    assert sorted(p.name for p in pages.iterdir()) == ["page-00001.png"]
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(OutputNotWritable):
        print_labels(synthetic_chunks(10), other, options)
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "pages"]


def test_bad_options_fail_before_any_output(tmp_path: Path) -> None:
    with pytest.raises(InvalidDpi):
        print_labels(synthetic_chunks(5), tmp_path / "o.pdf", PrintOptions(template=BUILTIN["a4-3x8"], dpi=1201))
    with pytest.raises(FontNotFound) as err:
        print_labels(synthetic_chunks(5), tmp_path / "o.pdf",
                     PrintOptions(template=BUILTIN["a4-3x8"], caption="刮开", font=str(tmp_path / "none.ttf")))
    assert err.value.code == "font_not_found"
    from loyalcode.printing.fonts import MONO_FONT

    with pytest.raises(FontNotFound):  # a Latin-only font for a Chinese caption: refuse, no boxes
        print_labels(synthetic_chunks(5), tmp_path / "o.pdf",
                     PrintOptions(template=BUILTIN["a4-3x8"], caption="刮开", font=str(MONO_FONT)))
    assert list(tmp_path.iterdir()) == []
