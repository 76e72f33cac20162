"""Every bad input to the command line: non-zero exit, exactly one line on stderr, no
traceback, the stable code in ``--json``'s error body, and nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.codegen.util import snapshot
from tests.conftest import Cli, CliResult

BATCH = ["batch", "create", "--sku", "S", "--points", "1", "--payload", "HTTPS://QR.BRAND.CN/C/{code}"]


def assert_refused(r: CliResult, code: str, *, json_out: bool = True) -> None:
    assert r.exit_code != 0, r
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"error [{code}]: "), lines[0]
    assert "Traceback" not in r.stderr + r.stdout
    if json_out:
        body = r.json()
        assert set(body) == {"error"}
        assert body["error"]["code"] == code and body["error"]["message"]
    else:
        assert r.stdout == ""


@pytest.fixture
def made(cli: Cli) -> dict:
    """One batch of 100 and one channel to refer to."""
    cli("channel", "add", "GD-01", "--name", "Guangdong", "--kind", "distributor", "--region", "44")
    return cli(*BATCH, "--quantity", "100", "--json").json()


BAD_CREATE = [
    (["--quantity", "0"], "invalid_quantity"),
    (["--quantity", "-5"], "invalid_quantity"),
    (["--quantity", "100000001"], "invalid_quantity"),
    (["--quantity", "99999999999999999999999"], "invalid_quantity"),
    (["--quantity", "9" * 4301], "invalid_quantity"),  # past Python's int() digit limit
    (["--quantity", "abc"], "invalid_quantity"),
    (["--quantity", "1e6"], "invalid_quantity"),
    (["--quantity", "1.5"], "invalid_quantity"),
    (["--quantity", ""], "invalid_quantity"),
    (["--quantity", "５"], "invalid_quantity"),  # full-width digit: isdecimal() but not ASCII
    (["--quantity", "10", "--channel", "NOPE"], "channel_not_found"),
    (["--quantity", "10", "--produced-on", "2026-02-30"], "invalid_date"),
    (["--quantity", "10", "--redeem-from", "tomorrow"], "invalid_date"),
    (["--quantity", "10", "--redeem-until", "2026/12/31"], "invalid_date"),
    (["--quantity", "10", "--redeem-from", "2026-12-02", "--redeem-until", "2026-12-01"], "invalid_date_range"),
    (["--quantity", "10", "--gtin", "12345"], "invalid_gtin"),
    (["--quantity", "10", "--payload", "https://x/{serial}"], "invalid_payload_template"),
    (["--quantity", "10", "--payload", "{code}", "--points", "-1"], "invalid_points"),
    (["--quantity", "10", "--points", "9" * 4301], "invalid_points"),
]


def test_bad_batch_create(cli: Cli, made: dict) -> None:
    """All cases in one database (one fixture set-up per database kind keeps this fast)."""
    before = snapshot(cli.db_url)
    for args, code in BAD_CREATE:
        for json_out in (True, False):
            r = cli(*BATCH, *args, *(["--json"] if json_out else []))
            try:
                assert_refused(r, code, json_out=json_out)
            except AssertionError as exc:
                raise AssertionError(f"{args} (json={json_out}): {exc}") from None
    assert snapshot(cli.db_url) == before


BAD_REFERENCES = [
    (["batch", "show", "999"], "batch_not_found"),
    (["batch", "show", "abc"], "batch_not_found"),
    (["batch", "void", "999"], "batch_not_found"),
    (["batch", "void", "0"], "batch_not_found"),
    (["export", "999"], "batch_not_found"),
    (["export", "1", "--from", "0"], "range_outside_batch"),
    (["export", "1", "--from", "50", "--to", "101"], "range_outside_batch"),
    (["export", "1", "--from", "60", "--to", "50"], "range_outside_batch"),
    (["export", "1", "--format", "xml"], "invalid_input"),
    (["channel", "add", "X1", "--name", "x", "--kind", "shop", "--region", "44"], "invalid_channel_kind"),
    (["channel", "add", "X1", "--name", "x", "--kind", "retailer", "--region", "4"], "invalid_region"),
    (["channel", "add", "X1", "--name", "x", "--kind", "retailer", "--region", "44",
      "--parent", "NOPE"], "channel_not_found"),
    (["channel", "add", "GD-01", "--name", "x", "--kind", "retailer", "--region", "44"], "channel_exists"),
    (["channel", "add", "bad code", "--name", "x", "--kind", "retailer", "--region", "44"],
     "invalid_channel_code"),
]


def test_bad_references(cli: Cli, made: dict) -> None:
    before = snapshot(cli.db_url)
    for args, code in BAD_REFERENCES:
        r = cli(*args, "--json")
        try:
            assert_refused(r, code)
        except AssertionError as exc:
            raise AssertionError(f"{args}: {exc}") from None
    assert snapshot(cli.db_url) == before


def test_usage_errors_are_one_line(cli: Cli, made: dict) -> None:
    before = snapshot(cli.db_url)
    for args in (["export", "1", "--from"], ["batch", "create"], ["nope"], ["check"],
                 ["batch", "void", "-1"]):
        r = cli(*args)
        assert r.exit_code == 2, args
        assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("error [usage]: "), args
    assert snapshot(cli.db_url) == before


DEAD_URLS = {
    "postgres-closed-port": "postgresql://postgres@127.0.0.1:1/test",
    "sqlite-missing-dir": "sqlite:///{tmp}/no/such/dir/loyalcode.db",
}
COMMANDS = [
    ["init"],
    ["db", "upgrade"],
    ["db", "check"],
    ["channel", "list"],
    ["channel", "add", "X", "--name", "x", "--kind", "retailer", "--region", "31"],
    [*BATCH, "--quantity", "10"],
    ["batch", "list"],
    ["batch", "show", "1"],
    ["batch", "void", "1"],
    ["export", "1"],
    ["check", "0000-0000-0000-0000"],
]


@pytest.mark.parametrize("which", list(DEAD_URLS))
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_database_that_does_not_answer(tmp_path: Path, key_env: str, which: str, args: list[str]) -> None:
    url = DEAD_URLS[which].format(tmp=tmp_path)
    r = Cli(url)(*args, "--json")
    assert_refused(r, "database_unavailable")
    assert "Connection refused" in r.stderr or "unable to open" in r.stderr
    assert not (tmp_path / "no").exists()


def test_database_that_does_not_answer_real_process(tmp_path: Path, key_env: str) -> None:
    r = Cli("postgresql://postgres@127.0.0.1:1/test").subprocess(*BATCH, "--quantity", "5")
    assert r.exit_code == 1 and r.stdout == ""
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("error [database_unavailable]")


def test_long_numbers_are_cut_short_in_the_message(cli: Cli) -> None:
    r = cli(*BATCH, "--quantity", "9" * 4301, "--json")
    assert_refused(r, "invalid_quantity")
    assert len(r.stderr) < 200 and "4301 characters" in r.stderr


def test_leading_zeros_are_still_a_number(cli: Cli) -> None:
    """However many: 4,301 characters is past Python's int() limit, and still 7."""
    r = cli("batch", "create", "--sku", "S", "--quantity", "0" * 4300 + "7", "--points", "0" * 4300 + "2", "--json")
    assert r.exit_code == 0, r.stderr
    assert (r.json()["quantity"], r.json()["points"]) == (7, 2)


@pytest.mark.parametrize("url", ["mysql://user:secret@db.example/codes", "oracle+cx_oracle://h/x",
                                 "mongodb://h/x", "sqlite"])
@pytest.mark.parametrize("args", [["init"], ["batch", "list"], ["export", "1"]])
def test_unsupported_database_url(tmp_path: Path, key_env: str, url: str, args: list[str]) -> None:
    r = Cli(url)(*args, "--json")
    assert_refused(r, "database_url_unsupported")
    assert "secret" not in r.stderr + r.stdout  # the password is never shown
    assert "sqlite:///" in r.stderr and "postgresql://" in r.stderr  # says what works


def test_uninitialised_database(tmp_path: Path, key_env: str) -> None:
    """A command other than init refuses a database that has no schema, and does not
    leave a new empty SQLite file behind."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    for args in (["batch", "list"], [*BATCH, "--quantity", "5"], ["export", "1"], ["check", "X"],
                 ["channel", "list"], ["batch", "void", "1"]):
        r = Cli(url)(*args, "--json")
        assert_refused(r, "not_initialized")
        assert not (tmp_path / "empty.db").exists(), args


@pytest.mark.parametrize("args", [["export", "1"], ["check", "0000-0000-0000-0000"]])
def test_missing_key(cli: Cli, made: dict, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    monkeypatch.delenv("LOYALCODE_KEY")
    before = snapshot(cli.db_url)
    r = cli(*args, "--json")
    assert_refused(r, "key_missing")
    assert snapshot(cli.db_url) == before


@pytest.mark.parametrize("args", [["export", "1"], ["export", "1", "--format", "csv", "--serial"],
                                  ["check", "0000-0000-0000-0000"]])
def test_wrong_key_is_refused(cli: Cli, made: dict, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    """A key whose fingerprint differs is refused before a single code is derived."""
    monkeypatch.setenv("LOYALCODE_KEY", "00" * 32)
    r = cli(*args, "--json")
    assert_refused(r, "key_mismatch")
    r = cli(*args)
    assert_refused(r, "key_mismatch", json_out=False)  # stdout empty: no codes leaked


def test_invalid_key_text(cli: Cli, made: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOYALCODE_KEY", "not-a-key")
    assert_refused(cli("export", "1", "--json"), "invalid_key")
