"""ZPL output: one ^XA/^XZ block per label, the payload in the QR's ^FD, text fields."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loyalcode.printing.errors import InvalidDpi
from loyalcode.printing.layout import group_lines
from loyalcode.printing.run import PrintOptions, print_labels
from loyalcode.printing.templates import BUILTIN
from tests.printing.support import synthetic_chunks


def _blocks(text: str) -> list[str]:
    return re.findall(r"\^XA.*?\^XZ", text, flags=re.DOTALL)


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize("name", ["roll-40x30", "roll-50x30", "a4-3x8"])
def test_one_block_per_label_with_payload_code_and_serial(tmp_path: Path, name: str, dpi: int) -> None:
    chunks = synthetic_chunks(75, chunk=20)
    out = tmp_path / "labels.zpl"
    result = print_labels(chunks, out, PrintOptions(template=BUILTIN[name], fmt="zpl", dpi=dpi))
    text = out.read_text(encoding="utf-8")
    assert text.count("^XA") == text.count("^XZ") == result.labels == 75
    blocks = _blocks(text)
    labels = [(c, p, s) for ch in chunks for c, p, s in zip(ch.codes, ch.payloads, ch.serials)]
    assert len(blocks) == len(labels)
    dots_per_mm = dpi / 25.4
    width = round(BUILTIN[name].label_mm[0] * dots_per_mm)
    for block, (code, payload, serial) in zip(blocks, labels):
        assert f"^PW{width}^" in block
        (qr,) = re.findall(r"\^BQN,2,(\d+)\^FD(.)M,A(.*?)\^FS", block)
        assert 1 <= int(qr[0]) <= 10 and qr[1] == "M" and qr[2] == payload
        fields = re.findall(r"\^FD(.*?)\^FS", block)
        for line in group_lines(code, 2) if len(fields) == 4 else group_lines(code, 4) if len(fields) == 6 else group_lines(code, 1):
            assert line in fields
        assert fields[-1] == serial


def test_no_serial_and_ec_level(tmp_path: Path) -> None:
    chunks = synthetic_chunks(5, serials=False)
    out = tmp_path / "l.zpl"
    print_labels(chunks, out, PrintOptions(template=BUILTIN["roll-50x30"], fmt="zpl", ec="Q", with_serial=False))
    text = out.read_text()
    assert text.count("^FDQM,A") == 5
    assert not re.search(r"\^FDS\d{6}\^FS", text)


def test_caption_is_one_downloaded_graphic(tmp_path: Path, cjk_font: str) -> None:
    out = tmp_path / "l.zpl"
    print_labels(synthetic_chunks(4), out, PrintOptions(template=BUILTIN["roll-50x30"], fmt="zpl",
                                                        caption="刮开涂层 扫码积分"))
    text = out.read_text()
    assert text.startswith("~DGR:LCCAPT.GRF,") and text.count("~DG") == 1
    assert text.count("^XGR:LCCAPT.GRF,1,1^FS") == 4
    assert "刮" not in text  # the printer needs no CJK font


def test_control_characters_in_payload_are_escaped(tmp_path: Path) -> None:
    chunks = synthetic_chunks(2, prefix="HTTPS://X.EXAMPLE/^A~B/")
    out = tmp_path / "l.zpl"
    print_labels(chunks, out, PrintOptions(template=BUILTIN["roll-50x30"], fmt="zpl"))
    text = out.read_text()
    assert "^FH_^FDMM,B0039HTTPS://X.EXAMPLE/_5EA_7EB/" in text
    assert text.count("^XA") == 2


def test_zpl_dpi_must_be_a_printhead_resolution(tmp_path: Path) -> None:
    with pytest.raises(InvalidDpi):
        print_labels(synthetic_chunks(2), tmp_path / "l.zpl",
                     PrintOptions(template=BUILTIN["roll-50x30"], fmt="zpl", dpi=250))
    assert not list(tmp_path.iterdir())
