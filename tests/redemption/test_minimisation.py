"""Personal data kept to what is needed: throttle counters under keyed hashes, event
payloads with the member id (the phone only with ``[events] include_phone``), a
redemption's source as a keyed hash (in clear only with ``[redemption] keep_source``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from loyalcode.codegen.checkchar import calc_check_symbol
from loyalcode.codegen.errors import ForgedCode
from loyalcode.errors import ConfigError
from loyalcode.events.settings import EventSettings
from loyalcode.loyalty import members
from loyalcode.loyalty.profile import update_profile
from loyalcode.loyalty.settings import LoyaltySettings
from loyalcode.redemption import Redeemer, RedemptionSettings
from loyalcode.redemption.errors import Throttled
from loyalcode.store.config import load_config
from loyalcode.store.context import open_context
from loyalcode.store.timeutil import utc
from tests.loyal import PROFILE
from tests.loyalty.test_erasure import dump, national
from tests.shop import PHONE, PHONE_E164

STRANGER, STRANGER_OPENID, STRANGER_SOURCE = "+8613512345678", "oStranger-55", "198.51.100.23"
IP = "203.0.113.7"


def _forged(i: int) -> str:
    body = f"ABCDEFGHJK{i:05d}"
    return body + calc_check_symbol(body)


def _payloads(shop: Any) -> list[tuple[str, dict[str, Any]]]:
    with shop.ctx.engine.connect() as conn:
        rows = conn.execute(text("SELECT type, payload FROM events ORDER BY id")).all()
        conn.rollback()
    return [(t, p if isinstance(p, dict) else json.loads(p)) for t, p in rows]


def test_someone_who_only_failed_leaves_no_trace(shop, redeemer) -> None:
    """Failed attempts count under keyed hashes: the phone, openid and source of a
    stranger who never redeemed are nowhere in the database, yet they are throttled."""
    settings = RedemptionSettings(throttle_failures=3)
    with Redeemer(shop.ctx, settings=settings) as r:
        for i in range(3):
            with pytest.raises(ForgedCode):
                r.redeem(_forged(i), phone=STRANGER, openid=STRANGER_OPENID, source=STRANGER_SOURCE)
        with pytest.raises(Throttled):  # counted all the same
            r.redeem(shop.code(1), phone=STRANGER)
    everything = dump(shop.ctx.engine)
    for value in (STRANGER, national(STRANGER), STRANGER_OPENID, STRANGER_SOURCE):
        assert value not in everything
    keyring = shop.ctx.keyring()
    with shop.ctx.engine.connect() as conn:
        stored = set(conn.execute(text("SELECT kind, value FROM scan_failures")).all())
        conn.rollback()
    assert stored == {("phone", keyring.identity_key("phone", STRANGER)),
                      ("openid", keyring.identity_key("openid", STRANGER_OPENID)),
                      ("source", keyring.identity_key("source", STRANGER_SOURCE))}


def test_events_name_the_member_not_the_phone(shop, redeemer) -> None:
    """Every event a member's life writes (joining, earning on either path, binding,
    merging, the profile's moment) carries the member id and no phone; the phone is
    stored once, on the member, where ``member show`` reads it."""
    first = redeemer.redeem(shop.code(1), phone=PHONE, source=IP)
    redeemer.redeem(shop.code(2), phone=PHONE, source=IP)  # PostgreSQL: the fast path
    with shop.ctx.engine.connect() as conn, conn.begin():
        shell = members.bind(conn, now=utc(), identities={"openid": "oShell"}).member
        members.bind(conn, phone_verified=True, now=utc(), member_id=shell, phone="13700137000")  # phone_bound
        members.bind(conn, phone_verified=True, now=utc(), phone=PHONE, identities={"openid": "oOther"})
        other = members.bind(conn, now=utc(), identities={"openid": "oMerged"}).member
        members.bind(conn, phone_verified=True, now=utc(), phone=PHONE, identities={"openid": "oMerged"})
        update_profile(conn, first.member, LoyaltySettings(), utc(), **PROFILE)
    assert other != first.member
    events = _payloads(shop)
    types = {t for t, _ in events}
    assert {"member_joined", "points_earned", "phone_bound", "members_merged",
            "profile_completed"} <= types
    for type_, payload in events:
        assert "phone" not in payload, type_
        assert isinstance(payload["member"], int)
    with shop.ctx.engine.connect() as conn:
        holders = [table for table in ("members", "events", "redemptions", "scan_failures")
                   if conn.execute(text(f"SELECT count(*) FROM {table} WHERE "
                                        f"CAST({'phone' if table == 'members' else _text(table)} AS text) "
                                        "LIKE :p"), {"p": f"%{national(PHONE)}%"}).scalar_one()]
        sources = conn.execute(text("SELECT DISTINCT source FROM redemptions")).scalars().all()
        info = members.member_info(conn, first.member)
        conn.rollback()
    assert holders == ["members"]
    assert info.phone == PHONE_E164  # how a CRM reads the phone of a member
    assert sources == [shop.ctx.keyring().identity_key("source", IP)]  # a keyed hash, not the IP


def _text(table: str) -> str:
    return {"events": "payload", "redemptions": "source", "scan_failures": "value"}[table]


def test_include_phone_and_keep_source_from_the_config(shop, tmp_path: Path, monkeypatch) -> None:
    """``[events] include_phone`` puts the phone back into payloads (both paths, the
    loyalty moments, binds); ``[redemption] keep_source`` keeps the source in clear."""
    config = tmp_path / "loyalcode.toml"
    config.write_text("[events]\ninclude_phone = true\n[redemption]\nkeep_source = true\n")
    monkeypatch.setenv("LOYALCODE_CONFIG", str(config))
    ctx = open_context(shop.ctx.url)
    try:
        settings = LoyaltySettings.from_config(ctx.config)
        assert settings.events.include_phone
        with Redeemer(ctx) as r:
            first = r.redeem(shop.code(1), phone=PHONE, source=IP)
            r.redeem(shop.code(2), phone=PHONE, source=IP)  # PostgreSQL: the fast path
        with ctx.engine.connect() as conn, conn.begin():
            update_profile(conn, first.member, settings, utc(), **PROFILE)
            shell = members.bind(conn, now=utc(), identities={"openid": "oShell"},
                                 include_phone=True).member
            members.bind(conn, phone_verified=True, now=utc(), member_id=shell, phone="13700137000", include_phone=True)
            sources = conn.execute(text("SELECT DISTINCT source FROM redemptions")).scalars().all()
    finally:
        ctx.dispose()
    phones = {t: p.get("phone") for t, p in _payloads(shop) if t != "member_joined" or p["phone"]}
    assert phones == {"member_joined": PHONE_E164, "points_earned": PHONE_E164,
                      "profile_completed": PHONE_E164, "phone_bound": "+8613700137000"}
    assert sources == [IP]


def test_the_cli_bind_follows_the_config(shop, cli, tmp_path: Path, monkeypatch) -> None:
    assert cli("member", "bind", "--phone", PHONE, "--json").exit_code == 0
    config = tmp_path / "loyalcode.toml"
    config.write_text("[events]\ninclude_phone = true\n")
    monkeypatch.setenv("LOYALCODE_CONFIG", str(config))
    assert cli("member", "bind", "--phone", "13700137000", "--json").exit_code == 0
    joined = [p for t, p in _payloads(shop) if t == "member_joined"]
    assert ["phone" in p for p in joined] == [False, True] and joined[1]["phone"] == "+8613700137000"


@pytest.mark.parametrize("toml", [
    "[events]\ninclude_phone = 1\n",
    "[events]\ninclude_phones = true\n",
    "[redemption]\nkeep_source = \"yes\"\n",
])
def test_settings_refuse_what_they_do_not_know(tmp_path: Path, monkeypatch, toml: str) -> None:
    config = tmp_path / "loyalcode.toml"
    config.write_text(toml)
    monkeypatch.setenv("LOYALCODE_CONFIG", str(config))
    with pytest.raises(ConfigError):
        loaded = load_config("sqlite:///x.db")
        EventSettings.from_config(loaded)
        RedemptionSettings.from_config(loaded)
