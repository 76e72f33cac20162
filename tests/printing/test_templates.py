"""Label templates: the shipped set, user files, validation, `loyalcode templates`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loyalcode.printing.errors import TemplateFileError, TemplateInvalid, TemplateNotFound
from loyalcode.printing.templates import BUILTIN, all_templates, get_template, load_template_file

CONTRACT = {"name", "page_mm", "label_mm", "rows", "columns", "margin_mm", "pitch_mm",
            "qr_center_mm", "qr_size_mm"}


def test_shipped_templates() -> None:
    assert {"a4-3x8", "a4-l7160", "letter-3x10", "roll-40x30", "roll-50x30"} <= set(BUILTIN)
    a4 = BUILTIN["a4-3x8"]
    assert (a4.label_mm, a4.rows, a4.columns) == ((70.0, 37.0), 8, 3)
    l7160 = BUILTIN["a4-l7160"]
    assert (l7160.label_mm, l7160.rows, l7160.columns) == ((63.5, 38.1), 7, 3)
    for roll in ("roll-40x30", "roll-50x30"):
        assert BUILTIN[roll].labels_per_page == 1


def test_every_shipped_label_and_qr_fits() -> None:
    for t in BUILTIN.values():
        right = t.margin_mm[0] + (t.columns - 1) * t.pitch_mm[0] + t.label_mm[0]
        bottom = t.margin_mm[1] + (t.rows - 1) * t.pitch_mm[1] + t.label_mm[1]
        assert right <= t.page_mm[0] + 1e-6 and bottom <= t.page_mm[1] + 1e-6, t.name
        assert t.qr_size_mm / 2 <= t.qr_center_mm[0] <= t.label_mm[0] - t.qr_size_mm / 2


def test_unknown_template() -> None:
    with pytest.raises(TemplateNotFound) as err:
        get_template("a5-2x2")
    assert err.value.code == "template_not_found"
    assert "a4-3x8" in err.value.message


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_templates_from_toml_and_json(tmp_path: Path) -> None:
    toml = _write(tmp_path, "t.toml", """
[[templates]]
name = "a4-2x5"
page_mm = [210, 297]
label_mm = [100, 55]
rows = 5
columns = 2
margin_mm = [4, 11]
pitch_mm = [102, 55]

[[templates]]
name = "a4-3x8-office"
extends = "a4-3x8"
shift_mm = [0.4, -0.3]
scale = [1.002, 0.998]
""")
    loaded = load_template_file(toml)
    assert loaded["a4-2x5"].labels_per_page == 10
    office = loaded["a4-3x8-office"]
    assert office.label_mm == BUILTIN["a4-3x8"].label_mm and office.shift_mm == (0.4, -0.3)
    js = _write(tmp_path, "t.json", json.dumps({"templates": [
        {"name": "roll-60x40", "page_mm": [60, 40], "label_mm": [60, 40], "rows": 1,
         "columns": 1, "margin_mm": [0, 0]}]}))
    assert "roll-60x40" in all_templates(js)


def test_env_names_the_template_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "t.json", json.dumps([{"name": "mine", "extends": "roll-50x30"}]))
    monkeypatch.setenv("LOYALCODE_TEMPLATES", str(path))
    assert get_template("mine").label_mm == (50.0, 30.0)


@pytest.mark.parametrize("entry, words", [
    ({"rows": 9}, "outside the 210.0x297.0 mm page"),          # 9 x 37 mm > 297 mm
    ({"pitch_mm": [60, 37]}, "less than the label width"),
    ({"shift_mm": [5, 0]}, "moves labels off the page"),
    ({"scale": [1.5, 1]}, "between 0.9 and 1.1"),
    ({"qr_size_mm": 40}, "QR square does not fit"),
    ({"colour": "red"}, "unknown field"),
])
def test_invalid_templates(tmp_path: Path, entry: dict, words: str) -> None:
    path = _write(tmp_path, "t.json", json.dumps([{"name": "bad", "extends": "a4-3x8", **entry}]))
    with pytest.raises(TemplateInvalid) as err:
        load_template_file(path)
    assert err.value.code == "template_invalid"
    assert words in err.value.message


def test_unreadable_template_file(tmp_path: Path) -> None:
    with pytest.raises(TemplateFileError):
        load_template_file(tmp_path / "missing.toml")
    with pytest.raises(TemplateFileError):
        load_template_file(_write(tmp_path, "x.toml", "this is = = not toml"))


def test_templates_command_json_contract() -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "loyalcode", "templates", "--json"],
                          capture_output=True, text=True, check=True)
    listed = {t["name"]: t for t in json.loads(proc.stdout)}
    assert set(BUILTIN) <= set(listed)
    for t in listed.values():
        assert CONTRACT <= set(t)
        assert len(t["page_mm"]) == len(t["label_mm"]) == len(t["margin_mm"]) == 2
        assert len(t["pitch_mm"]) == len(t["qr_center_mm"]) == 2
    assert listed["a4-3x8"]["label_mm"] == [70.0, 37.0]
    text = subprocess.run([sys.executable, "-m", "loyalcode", "templates"],
                          capture_output=True, text=True, check=True).stdout
    assert "a4-l7160" in text and "roll-40x30" in text
