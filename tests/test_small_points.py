"""The smaller points of issue 13, each through the face an operator uses: events list
says when more remain, report writes everything to stdout with sensible rates, root
options after the sub-command, plurals, one expiry line per date, template names as
named, --serial with txt refused."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalcode.channels.batches import create_batch
from loyalcode.cli import root_options_first
from loyalcode.cli.reports import format_rate
from tests.conftest import BRAND
from tests.loyal import T0, Loyal, phone


def test_events_list_says_when_more_remain_and_pages_with_after(loyal: Loyal, cli) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        loyal.earn(phone(10 + i), 1, T0)  # member_joined + points_earned each: 6 events
    r = cli("events", "list", "--limit", "4", "--json")
    first = r.json()
    assert len(first) == 4
    last = first[-1]["id"]
    assert r.stderr == f"More events remain after id {last}: continue with --after {last}.\n"
    r = cli("-q", "events", "list", "--limit", "4", "--after", str(last), "--json")
    rest = r.json()
    assert len(rest) == 2 and rest[0]["id"] > last and r.stderr == ""  # the end: nothing said
    assert cli("events", "list", "--limit", "6").stderr == ""


def test_report_prints_totals_on_stdout_and_readable_rates(shop, redeemer, cli) -> None:  # type: ignore[no-untyped-def]
    with shop.ctx.session() as s, s.begin():  # a batch with no name, a million codes
        big = create_batch(s, sku="BIG", quantity=1_000_000, points=1, payload_template=BRAND).id
    cli("activate", str(big), "--channel", "GD-DIST", "--from", "1", "--to", "end")
    from loyalcode.codegen.codec import encode

    start = cli("batch", "show", str(big), "--json").json()["serial_start"]
    redeemer.redeem(encode(shop.keyring, start), phone="13800138000")
    r = cli("-q", "report")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    big_line = next(line for line in lines if "BIG" in line)
    assert "None" not in big_line and "rate 0.0001%" in big_line
    assert lines[-1].startswith("Totals: redeemed 1 of 1,000,500 activated".replace(",", ""))
    assert r.stderr == ""


def test_format_rate() -> None:
    assert [format_rate(r) for r in (None, 0, 1e-6, 0.00004, 0.1234, 1)] == [
        "-", "0%", "0.0001%", "0.004%", "12.34%", "100.00%"]


def test_root_options_after_the_sub_command(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert root_options_first(["batch", "list", "--db", "X", "-q", "--json"]) == [
        "--db", "X", "-q", "batch", "list", "--json"]
    assert root_options_first(["check", "--db=Y", "--", "-q"]) == ["--db=Y", "check", "--", "-q"]
    from tests.conftest import Cli

    elsewhere = Cli(f"sqlite:///{tmp_path / 'missing.db'}")  # the fixture's --db comes first
    r = elsewhere("batch", "create", "--sku", "S", "--quantity", "2", "--points", "1",
                  "--db", cli.db_url, "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""  # --quiet after the sub-command silenced the placeholder warning
    assert not (tmp_path / "missing.db").exists()


def test_plurals(shop, redeemer, cli) -> None:  # type: ignore[no-untyped-def]
    b = cli("batch", "create", "--sku", "ONE", "--quantity", "1", "--points", "1", "--payload",
            BRAND)
    assert "Batch 2: 1 code, SKU ONE, 1 point each" in b.stdout
    cli("activate", "2", "--channel", "GD-DIST", "--from", "1", "--to", "1")
    code = cli("export", "2", "--format", "csv").stdout.splitlines()[1].split(",")[1]
    r = cli("redeem", code, "--phone", "13800138000")
    assert r.stdout.startswith("Credited 1 point to member")


def test_member_profile_one_line_per_expiry_date(loyal: Loyal, cli) -> None:  # type: ignore[no-untyped-def]
    loyal.earn(phone(20), 10, T0)   # ten scans of 10 points on one day
    loyal.earn(phone(20), 1, T0 + dt.timedelta(days=40))
    r = cli("member", "profile", "--phone", phone(20))
    assert r.exit_code == 0, r.stderr
    expiry = [line.strip() for line in r.stdout.splitlines() if "expire" in line]
    assert expiry == ["100 points expire on 2026-03-15 (Asia/Shanghai)",
                      "10 points expire on 2026-04-24 (Asia/Shanghai)"]


def test_templates_named_as_they_are(cli) -> None:  # type: ignore[no-untyped-def]
    lines = {line.split()[0]: line.split()[1] for line in cli("templates").stdout.splitlines()}
    assert lines["a4-3x8"] == "3x8" and lines["a4-l7160"] == "3x7" and lines["letter-3x10"] == "3x10"


@pytest.mark.parametrize("fmt", ["txt"])
def test_serial_with_txt_is_refused(cli, fmt) -> None:  # type: ignore[no-untyped-def]
    cli("batch", "create", "--sku", "S", "--quantity", "5", "--points", "1", "--payload", BRAND)
    r = cli("export", "1", "--format", fmt, "--serial", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "invalid_input"
    assert "--format csv" in r.stderr and r.stdout.count("\n") == 1
