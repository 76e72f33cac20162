"""The throttle: starts after the limit, ends with the window, holds across processes,
and answers ``throttled`` to a valid code and a forged one alike."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalcode.codegen.checkchar import calc_check_symbol
from loyalcode.redemption import Redeemer, RedemptionSettings
from loyalcode.redemption.errors import ForgedCode, RedemptionError

from .conftest import OTHER_PHONE, PHONE, UTC

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _forged(i: int) -> str:
    body = f"ABCDEFGHJK{i:05d}"
    return body + calc_check_symbol(body)


def _outcome(redeemer, scan: str, **kwargs) -> dict:
    try:
        redeemer.redeem(scan, **kwargs)
    except RedemptionError as err:
        return err.to_dict()
    return {"code": "ok"}


def test_throttle_starts_and_ends(ctx, shop) -> None:
    redeemer = Redeemer(ctx, settings=RedemptionSettings(throttle_failures=3, throttle_window_seconds=60))
    for i in range(3):
        with pytest.raises(ForgedCode):
            redeemer.redeem(_forged(i), phone=PHONE, now=T0 + dt.timedelta(seconds=i))
    later = T0 + dt.timedelta(seconds=10)
    valid = _outcome(redeemer, shop.code(1), phone=PHONE, now=later)
    forged = _outcome(redeemer, _forged(99), phone=PHONE, now=later)
    # The same answer, word for word, whether the code is right or wrong.
    assert valid == forged == {
        "code": "throttled",
        "message": "Too many failed attempts: try again in 50 seconds.",
        "retry_after": 50,
    }
    assert shop.count("redemptions") == 0
    # Another phone is not throttled.
    assert redeemer.redeem(shop.code(2), phone=OTHER_PHONE, now=later).points == 10
    # After the window the same phone redeems again, and counting starts afresh.
    after = T0 + dt.timedelta(seconds=61)
    assert redeemer.redeem(shop.code(1), phone=PHONE, now=after).points == 10
    with pytest.raises(ForgedCode):
        redeemer.redeem(_forged(5), phone=PHONE, now=after)
    assert redeemer.redeem(shop.code(3), phone=PHONE, now=after).balance == 20


def test_throttle_by_source_and_openid_and_unknown_counts(ctx, shop) -> None:
    redeemer = Redeemer(ctx, settings=RedemptionSettings(throttle_failures=2, throttle_window_seconds=600))
    beyond = shop.code(5000)  # authentic, in no batch: "unknown" counts too
    for phone in ("13800138001", "13800138002"):
        _outcome(redeemer, beyond, phone=phone, source="device-1", now=T0)
    assert _outcome(redeemer, shop.code(1), phone=PHONE, source="device-1", now=T0)["code"] == "throttled"
    assert redeemer.redeem(shop.code(1), phone=PHONE, source="device-2", now=T0).points == 10
    for _ in range(2):
        _outcome(redeemer, _forged(1), openid="oGuess", now=T0)
    assert _outcome(redeemer, _forged(2), openid="oGuess", now=T0)["code"] == "throttled"
    # No identity at all: no bucket, never throttled (and no database row).
    before = shop.count("scan_failures")
    for i in range(5):
        assert _outcome(redeemer, _forged(i), now=T0)["code"] == "forged"
    assert shop.count("scan_failures") == before


def test_throttle_counted_across_processes(cli, shop, tmp_path) -> None:
    config = tmp_path / "throttle.toml"
    config.write_text("[redemption]\nthrottle_failures = 3\nthrottle_window_seconds = 600\n")
    cli.env["LOYALCODE_CONFIG"] = str(config)
    for i in range(3):  # three separate processes, one failure each
        r = cli.subprocess("redeem", _forged(i), "--phone", PHONE, "--json")
        assert r.exit_code == 1 and r.json()["error"]["code"] == "forged", r.stderr
    for scan in (shop.code(1), _forged(9)):
        r = cli.subprocess("redeem", scan, "--phone", PHONE, "--json")
        assert r.exit_code == 1
        assert r.json()["error"]["code"] == "throttled"
    r = cli.subprocess("redeem", shop.code(1), "--phone", OTHER_PHONE, "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["points"] == 10


def test_settings_from_config(tmp_path, monkeypatch) -> None:
    from loyalcode.codegen.config import load_config
    from loyalcode.codegen.errors import ConfigError

    path = tmp_path / "loyalcode.toml"
    path.write_text("[redemption]\nthrottle_failures = 4\n")
    monkeypatch.setenv("LOYALCODE_CONFIG", str(path))
    settings = RedemptionSettings.from_config(load_config("sqlite:///x.db"))
    assert (settings.throttle_failures, settings.throttle_window_seconds) == (4, 600)
    path.write_text("[redemption]\nthrottle_failures = 0\n")
    with pytest.raises(ConfigError):
        RedemptionSettings.from_config(load_config("sqlite:///x.db"))
    path.write_text("[redemption]\nthrotle = 1\n")
    with pytest.raises(ConfigError):
        RedemptionSettings.from_config(load_config("sqlite:///x.db"))
