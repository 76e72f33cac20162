"""``loyalcode export``: CSV/TXT layout, seq ranges, templates, quoting, atomic files,
and every payload scans back to its code."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from loyalcode.codegen import codec
from loyalcode.codegen.codeformat import group
from loyalcode.codegen.normalize import normalize_scan
from loyalcode.codegen.visible import VisibleSerials
from tests.conftest import BRAND, Cli, FifoReader

GTIN = "09501101020917"
GS1 = "https://id.example.com/01/{gtin}/21/{serial}?c={code}"


def create(cli: Cli, quantity: int, *extra: str) -> dict:
    if "--payload" not in extra:
        extra = (*extra, "--payload", BRAND)
    r = cli("batch", "create", "--sku", "S", "--quantity", str(quantity), "--points", "3", *extra, "--json")
    assert r.exit_code == 0, r.stderr
    return r.json()


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def salt(db_url: str) -> str:
    from loyalcode.store.context import open_context

    ctx = open_context(db_url)
    try:
        return ctx.visible_salt()
    finally:
        ctx.dispose()


def test_csv_default(cli: Cli, keyring) -> None:
    b = create(cli, 1200)
    r = cli("export", str(b["id"]))
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("seq,code,payload\n")
    got = rows(r.stdout)
    assert [int(x["seq"]) for x in got] == list(range(1, 1201))
    expected = codec.codes_for_range(keyring, b["serial_start"], b["serial_end"])
    for row, code in zip(got, expected):
        assert row["code"] == group(code)
        assert row["payload"] == f"HTTPS://QR.BRAND.CN/C/{code}"
        assert normalize_scan(row["payload"]) == code
        assert normalize_scan(row["code"]) == code


@pytest.mark.parametrize("span", [(1, 1), (8, 12), (95, 105), (998, 1003), (9990, 10010), (1, 10010)])
def test_seq_ranges_across_digit_counts(sqlite_db_url: str, keyring, span: tuple[int, int]) -> None:
    """Seq columns change width at 10, 100, 1000...: the fixed-width fast path splits there."""
    cli = Cli(sqlite_db_url)
    b = create(cli, 20_000)
    lo, hi = span
    r = cli("export", str(b["id"]), "--from", str(lo), "--to", str(hi))
    assert r.exit_code == 0, r.stderr
    got = rows(r.stdout)
    assert [int(x["seq"]) for x in got] == list(range(lo, hi + 1))
    for x in got[:: max(1, len(got) // 300)]:
        code = codec.encode(keyring, b["serial_start"] + int(x["seq"]) - 1)
        assert x["code"] == group(code) and x["payload"].endswith(code)
    r = cli("export", str(b["id"]), "--from", str(lo), "--to", str(hi), "--format", "txt")
    assert r.stdout.splitlines() == [x["payload"] for x in got]


def test_serial_column_decodes_back(sqlite_db_url: str, keyring) -> None:
    cli = Cli(sqlite_db_url)
    b = create(cli, 300)
    r = cli("export", str(b["id"]), "--serial", "--from", "90", "--to", "110")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("seq,code,serial,payload\n")
    vis = VisibleSerials(salt(sqlite_db_url))
    for x in rows(r.stdout):
        serial = b["serial_start"] + int(x["seq"]) - 1
        assert vis.decode(x["serial"]) == serial
        assert x["code"] == group(codec.encode(keyring, serial))
        assert normalize_scan(x["payload"]) == normalize_scan(x["code"])


def test_txt_is_one_payload_per_line(cli: Cli, keyring) -> None:
    b = create(cli, 50)
    r = cli("export", str(b["id"]), "--format", "txt")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[-1] == "" and len(lines) == 51
    assert [normalize_scan(x) for x in lines[:-1]] == list(
        codec.codes_for_range(keyring, b["serial_start"], b["serial_end"])
    )


def test_gs1_digital_link_template(cli: Cli, keyring) -> None:
    b = create(cli, 40, "--gtin", "9501101020917", "--payload", GS1)
    assert b["gtin"] == GTIN
    vis = VisibleSerials(salt(cli.db_url))
    for fmt in ("csv", "txt"):
        r = cli("export", str(b["id"]), "--format", fmt)
        assert r.exit_code == 0, r.stderr
        payloads = [x["payload"] for x in rows(r.stdout)] if fmt == "csv" else r.stdout.splitlines()
        for i, p in enumerate(payloads):
            serial = b["serial_start"] + i
            code = codec.encode(keyring, serial)
            assert p == f"https://id.example.com/01/{GTIN}/21/{vis.encode(serial)}?c={code}"
            assert normalize_scan(p) == code


@pytest.mark.parametrize("with_serial", [False, True])
def test_payload_with_a_comma_is_quoted(sqlite_db_url: str, keyring, with_serial: bool) -> None:
    cli = Cli(sqlite_db_url)
    b = create(cli, 30, "--payload", "https://x.example/a,b/{batch}/{code}")
    r = cli("export", str(b["id"]), *(["--serial"] if with_serial else []))
    assert r.exit_code == 0, r.stderr
    got = list(csv.reader(io.StringIO(r.stdout)))
    assert len(got) == 31 and all(len(row) == (4 if with_serial else 3) for row in got)
    for i, row in enumerate(got[1:]):
        code = codec.encode(keyring, b["serial_start"] + i)
        assert row[-1] == f"https://x.example/a,b/{b['id']}/{code}"
        assert normalize_scan(row[-1]) == code
    r = cli("export", str(b["id"]), "--format", "txt")
    assert r.stdout.splitlines()[0].count(",") == 1  # TXT is not CSV: no quotes


def test_unscannable_template_is_refused(cli: Cli) -> None:
    """A payload from which a scan cannot recover the code would print dead labels."""
    for template in ("CODE:{code}", "https://x.example/{code}/info", "{code}{code}"):
        r = cli("batch", "create", "--sku", "S", "--quantity", "5", "--points", "1",
                "--payload", template, "--json")
        assert r.exit_code == 1 and r.json()["error"]["code"] == "invalid_payload_template"


def test_out_file_json_summary_and_same_bytes(cli: Cli, tmp_path: Path) -> None:
    b = create(cli, 5000)
    out = tmp_path / "codes.csv"
    r = cli("export", str(b["id"]), "--out", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    summary = r.json()
    assert summary["count"] == 5000 and summary["bytes"] == out.stat().st_size
    assert out.read_text() == cli("export", str(b["id"])).stdout
    assert not list(tmp_path.glob(".*.part"))
    r = cli("-q", "export", str(b["id"]), "--out", str(out))
    assert r.exit_code == 0 and r.stderr == "" and r.stdout == ""


def test_export_to_file_is_atomic(sqlite_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure half way leaves the old file untouched and no partial file behind."""
    from loyalcode.codegen import export, labels

    cli = Cli(sqlite_db_url)
    b = create(cli, 1000)
    out = tmp_path / "out" / "codes.csv"
    out.parent.mkdir()
    out.write_text("previous export\n")
    monkeypatch.setattr(export, "serial_chunks", lambda batch, a, z, size: labels.serial_chunks(batch, a, z, 100))
    calls = {"n": 0}
    real = codec.derive_chars

    def failing(keyring, serials):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError(28, "No space left on device")
        return real(keyring, serials)

    monkeypatch.setattr(codec, "derive_chars", failing)
    r = cli("export", str(b["id"]), "--out", str(out), "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "output_unwritable"
    # the progress label may precede it (the failure came half way), then one error line
    assert r.stderr.splitlines()[-1].startswith("error [output_unwritable]") and "No space left" in r.stderr
    assert "Traceback" not in r.stderr
    assert calls["n"] == 4  # it did fail half way
    assert out.read_text() == "previous export\n"
    assert sorted(p.name for p in out.parent.iterdir()) == ["codes.csv"]


def test_export_to_missing_directory(cli: Cli, tmp_path: Path) -> None:
    b = create(cli, 10)
    r = cli("export", str(b["id"]), "--out", str(tmp_path / "nope" / "x.csv"), "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "output_unwritable"
    assert len(r.stderr.splitlines()) == 1


def test_void_batch_is_not_exported(cli: Cli) -> None:
    b = create(cli, 10)
    assert cli("batch", "void", str(b["id"]), "--yes").exit_code == 0
    r = cli("export", str(b["id"]), "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "batch_void"


def test_progress_on_stderr_only(cli: Cli) -> None:
    b = create(cli, 100)
    r = cli("export", str(b["id"]), "--format", "txt")
    assert len(r.stdout.splitlines()) == 100 and "export batch" not in r.stdout


def test_export_file_is_0600_also_over_an_open_file(cli: Cli, tmp_path: Path) -> None:
    b = create(cli, 50)
    out = tmp_path / "codes.csv"
    out.write_text("an older export\n")
    out.chmod(0o644)
    r = cli("export", str(b["id"]), "--out", str(out))
    assert r.exit_code == 0, r.stderr
    assert out.stat().st_mode & 0o777 == 0o600 and len(out.read_text().splitlines()) == 51


def test_export_refuses_a_device_a_symlink_and_a_fifo(cli: Cli, tmp_path: Path, full_device: Path) -> None:
    """Renaming over them turned /dev/full into a file of live codes and replaced links."""
    import os
    import stat

    b = create(cli, 50)
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    target = tmp_path / "target.csv"
    target.write_text("theirs\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    fifo = tmp_path / "spool"
    os.mkfifo(fifo)
    for out, kind in ((str(full_device), "character device"), (str(link), "symbolic link"), (str(fifo), "FIFO")):
        r = cli("export", str(b["id"]), "--out", out, "--json")
        assert r.exit_code == 1 and r.json()["error"]["code"] == "output_not_regular", out
        assert r.stderr.splitlines() == [r.stderr.strip()] and kind in r.stderr and "--stream" in r.stderr
    assert stat.S_ISCHR(os.lstat(full_device).st_mode)
    assert link.is_symlink() and target.read_text() == "theirs\n" and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "spool", "target.csv"]


def test_export_streams_to_a_fifo_and_a_device(cli: Cli, tmp_path: Path, full_device: Path) -> None:
    import os

    b = create(cli, 50)
    fifo = tmp_path / "spool"
    os.mkfifo(fifo)
    with FifoReader(fifo) as got:
        r = cli("export", str(b["id"]), "--out", str(fifo), "--stream")
    assert r.exit_code == 0, r.stderr
    assert got == [cli("export", str(b["id"])).stdout.encode()]
    r = cli("export", str(b["id"]), "--out", str(full_device), "--stream", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "output_unwritable" and "No space left" in r.stderr
