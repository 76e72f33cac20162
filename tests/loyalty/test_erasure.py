"""Erasure (``member forget``): no table of either database keeps the member's phone,
external ids, profile values or sources, nor those of members merged into it; the
books (ledger, balances, redemptions, reports) do not move; events may undergo that
erasure and nothing else (migration 0008's trigger)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import exc, inspect, text

from loyalcode.codegen.checkchar import calc_check_symbol
from loyalcode.codegen.errors import ForgedCode
from loyalcode.events.outbox import acknowledge
from loyalcode.events.settings import EventSettings
from loyalcode.loyalty import members
from loyalcode.loyalty.erasure import forget_member
from loyalcode.loyalty.gifts import add_gift, redeem_gift
from loyalcode.loyalty.profile import update_profile
from loyalcode.loyalty.settings import LoyaltySettings
from loyalcode.redemption import Redeemer, RedemptionSettings
from loyalcode.reports.report import build_report
from loyalcode.store import db
from loyalcode.store.timeutil import utc
from tests.loyal import T0
from tests.redemption._racing import PG_ONLY, held, race

PA, PB, PC = "+8613800138001", "+8613900139002", "+8613700137003"
OA, OS, UA = "oA-wx-openid-7788", "oS-shell-openid-9911", "uA-unionid-4455"
IP_A = "203.0.113.77"
PROFILE = {"name": "王小明", "gender": "other", "birthday": "1987-06-05", "city": "绍兴",
           "email": "wang.xm@example.cn"}
ALL_ON = EventSettings(include_phone=True)


def _forged(i: int) -> str:
    body = f"ABCDEFGHJK{i:05d}"
    return body + calc_check_symbol(body)


def dump(engine: Any) -> str:
    """Every row of every table, as text."""
    out = []
    with engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                out.append(f"{table}: " + " | ".join(str(value) for value in row))
        conn.rollback()
    return "\n".join(out)


def national(e164: str) -> str:
    return e164.removeprefix("+86")


def _facts(shop: Any, member: int) -> dict[str, Any]:
    with shop.ctx.engine.connect() as conn:
        info = members.member_info(conn, member)
        reports = {by: build_report(conn, by=by).to_dict() for by in ("batch", "channel", "day")}
        conn.rollback()
    return {"balance": info.balance, "ledger_sum": info.ledger_sum,
            "redemptions": info.redemptions, "reports": reports}


def _personal_world(shop: Any) -> dict[str, Any]:
    """Member A with everything personal a deployment can store (phones in payloads,
    sources kept in clear), two members merged into A (an openid shell, and C, who had
    a phone), and member B, who is not forgotten."""
    ctx = shop.ctx
    settings = LoyaltySettings(profile_bonus=100, events=ALL_ON)
    redeemer = Redeemer(ctx, settings=RedemptionSettings(keep_source=True), events=ALL_ON)
    try:
        a = redeemer.redeem(shop.code(1), phone=PA, source=IP_A, region="440100").member
        redeemer.redeem(shop.code(2), phone=PA, source=IP_A)  # PostgreSQL: the fast path
        b = redeemer.redeem(shop.code(3), phone=PB, source="198.51.100.9").member
        with ctx.engine.connect() as conn, conn.begin():
            members.bind(conn, phone_verified=True, now=T0, phone=PA, identities={"openid": OA, "unionid": UA},
                         include_phone=True)
            shell = members.bind(conn, now=T0, identities={"openid": OS},
                                 include_phone=True).member
            update_profile(conn, a, settings, T0, **PROFILE)
            add_gift(conn, sku="MUG-01", name="马克杯", points=50, stock=3, now=T0)
            redeem_gift(conn, a, "MUG-01", settings, T0)
            c, _ = members.create_member(conn, PC, T0, "redeem", include_phone=True)
        redeemer.redeem(shop.code(4), phone=PC, source="192.0.2.5")
        with ctx.engine.connect() as conn, conn.begin():
            members.merge(conn, absorbed=c, into=a, now=T0)  # C had a phone: its events too
            members.bind(conn, phone_verified=True, now=T0, phone=PA, identities={"openid": OS}, include_phone=True)
        redeemer.redeem(shop.code(5), openid=OS, source=IP_A)  # the shell's openid, now A's
        for who in ({"phone": PA}, {"openid": OA}):  # failed attempts: throttle counters
            with pytest.raises(ForgedCode):
                redeemer.redeem(_forged(1), **who)
    finally:
        redeemer.close()
    return {"a": a, "b": b, "c": c, "shell": shell}


def test_forget_leaves_no_personal_value_in_any_table(shop, cli) -> None:
    world = _personal_world(shop)
    a = world["a"]
    engine = shop.ctx.engine
    secrets_ = [PA, national(PA), PC, national(PC), OA, OS, UA, IP_A, *PROFILE.values()]
    before = dump(engine)
    assert all(value in before for value in secrets_)  # the test looks for what is there
    facts = _facts(shop, a)
    assert facts["redemptions"] == 4 and facts["balance"] == facts["ledger_sum"]

    r = cli("member", "forget", "--phone", national(PA), "--json")
    assert r.exit_code == 0, r.stderr
    body = r.json()
    assert body["member"] == a and sorted(body["merged"]) == sorted([world["c"], world["shell"]])
    assert (body["phones"], body["identities"], body["profiles"]) == (1, 3, 1)
    assert body["event_payloads"] >= 6 and body["sources"] == 4 and body["counters"] == 2
    assert body["event"]["type"] == "member_forgotten"

    after = dump(engine)
    assert [value for value in secrets_ if value in after] == []
    # Member B was not forgotten: its phone and its events' phone stay.
    assert PB in after and "198.51.100.9" in after
    # The books did not move: balance, ledger, redemptions, every report's sums.
    assert _facts(shop, a) == facts
    shop.assert_balances_match_ledger()
    # The erasure is recorded, with nothing personal (the dump above holds it too).
    with engine.connect() as conn:
        forgotten = conn.execute(text(
            "SELECT member_id, payload FROM events WHERE type = 'member_forgotten'")).one()
        profile = conn.execute(text(
            "SELECT completed_at, bonus_at FROM member_profiles WHERE member_id = :m"), {"m": a}).one()
        conn.rollback()
    payload = forgotten.payload if isinstance(forgotten.payload, dict) else json.loads(forgotten.payload)
    assert forgotten.member_id == a and payload["member"] == a
    assert profile.completed_at is not None and profile.bonus_at is not None  # bonus stays one-off

    # Nobody can be found by the erased phone or openid any more; the id still works.
    r = cli("member", "show", "--phone", PA, "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "member_not_found"
    assert cli("member", "show", "--openid", OA).exit_code == 1
    shown = cli("member", "show", "--id", str(a), "--json").json()
    assert shown["phone"] is None and shown["identities"] == [] and shown["balance"] == facts["balance"]


def test_a_forgotten_phone_that_scans_again_is_a_new_member(shop, redeemer) -> None:
    a = redeemer.redeem(shop.code(1), phone=PA).member
    redeemer.redeem(shop.code(2), phone=PA)  # PostgreSQL: the fast path knows the member
    with shop.ctx.engine.connect() as conn, conn.begin():
        erased = forget_member(conn, a, shop.ctx.keyring(), T0)
    assert (erased.member, erased.merged, erased.phones) == (a, (), 1)
    again = redeemer.redeem(shop.code(3), phone=PA)
    assert again.member != a and again.joined and again.balance == 10
    # Forgetting again erases nothing more, and says so.
    with shop.ctx.engine.connect() as conn, conn.begin():
        twice = forget_member(conn, a, shop.ctx.keyring(), T0)
    assert (twice.phones, twice.identities, twice.event_payloads) == (0, 0, 0)


def test_forget_by_id_and_openid_and_unknown(shop, cli) -> None:
    with shop.ctx.engine.connect() as conn, conn.begin():
        m = members.bind(conn, phone_verified=True, now=T0, phone=PA, identities={"openid": OA}).member
    r = cli("member", "forget", "--openid", OA)
    assert r.exit_code == 0 and f"Member {m} forgotten" in r.stdout
    r = cli("member", "forget", "--member", "999999", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "member_not_found"
    r = cli("member", "forget", "--phone", "12", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "invalid_phone"
    assert cli("member", "forget", "--id", str(m)).exit_code == 0


# --- the outbox's immutability -----------------------------------------------------------


def _one_event(shop: Any, redeemer: Any) -> int:
    redeemer.close()
    with Redeemer(shop.ctx, events=ALL_ON) as r:
        return r.redeem(shop.code(1), phone=PA).events[-1].id


def _update(shop: Any, sql: str, **params: Any) -> None:
    with shop.ctx.engine.connect() as conn, conn.begin():
        conn.execute(text(sql), params)


@pytest.mark.parametrize("change", [
    "UPDATE events SET payload = :p WHERE id = :id",
    "UPDATE events SET member_id = member_id + 1 WHERE id = :id",
    "UPDATE events SET type = 'member_joined' WHERE id = :id",
    "UPDATE events SET created_at = :t WHERE id = :id",
])
def test_an_event_refuses_every_change_but_erasure_and_acknowledgement(shop, redeemer, change) -> None:
    event = _one_event(shop, redeemer)
    dialect = shop.ctx.engine.dialect.name
    remove = ("CAST(CAST(payload AS jsonb) - 'phone' AS json)" if dialect == "postgresql"
              else "json_remove(payload, '$.phone')")
    with shop.ctx.engine.connect() as conn:
        original = conn.execute(text("SELECT payload FROM events WHERE id = :id"), {"id": event}).scalar()
        conn.rollback()
    original = original if isinstance(original, dict) else json.loads(original)
    forged_payload = json.dumps({**original, "points": 10**6})
    with pytest.raises(exc.DBAPIError, match="immutable"):
        _update(shop, change, id=event, p=forged_payload, t=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    # Removing the phone and changing anything else at once: refused too.
    tampered = json.dumps({k: v for k, v in original.items() if k != "phone"} | {"balance": 0})
    with pytest.raises(exc.DBAPIError, match="immutable"):
        _update(shop, "UPDATE events SET payload = :p WHERE id = :id", id=event, p=tampered)
    # Acknowledging is allowed; so is the erasure (the phone removed, nothing else).
    with shop.ctx.engine.connect() as conn, conn.begin():
        assert acknowledge(conn, [event]) == [event]
    _update(shop, f"UPDATE events SET payload = {remove} WHERE id = :id", id=event)
    with shop.ctx.engine.connect() as conn:
        now = conn.execute(text("SELECT payload FROM events WHERE id = :id"), {"id": event}).scalar()
        conn.rollback()
    now = now if isinstance(now, dict) else json.loads(now)
    assert "phone" in original and now == {k: v for k, v in original.items() if k != "phone"}


def test_0008_adds_the_trigger_and_drops_clear_counters_and_downgrades(empty_db_url, key_env) -> None:
    """Upgrading to 0008 deletes the counters written in clear and makes events
    refuse changes; downgrading to the revision before it (read from the migration, so
    that a rechained history still tests the right one) lifts that again."""
    from alembic import command
    from alembic.script import ScriptDirectory

    previous = ScriptDirectory.from_config(db._alembic_config(None)).get_revision("0008").down_revision
    engine = db.make_engine(empty_db_url)
    insert_event = ("INSERT INTO events (type, member_id, payload, created_at) "
                    "VALUES ('member_joined', NULL, :p, CURRENT_TIMESTAMP)")
    change = "UPDATE events SET payload = :p"
    try:
        db.upgrade(engine, previous)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO scan_failures (kind, value, failures, window_start) "
                              "VALUES ('phone', :v, 3, 0)"), {"v": PA})
            conn.execute(text(insert_event), {"p": json.dumps({"phone": PA})})
            conn.execute(text(change), {"p": "{}"})  # no trigger yet
        db.upgrade(engine, "0008")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM scan_failures")).scalar_one() == 0
            conn.rollback()
        with pytest.raises(exc.DBAPIError, match="immutable"), engine.begin() as conn:
            conn.execute(text(change), {"p": json.dumps({"x": 1})})
        with engine.begin() as conn:
            command.downgrade(db._alembic_config(conn), previous)
        with engine.begin() as conn:
            conn.execute(text(change), {"p": json.dumps({"x": 1})})
        db.upgrade(engine)
        with pytest.raises(exc.DBAPIError, match="immutable"), engine.begin() as conn:
            conn.execute(text(change), {"p": json.dumps({"x": 2})})
    finally:
        engine.dispose()


# --- an erasure racing a scan --------------------------------------------------------------


@PG_ONLY
def test_a_scan_waiting_on_the_erasure_never_credits_the_forgotten_member(shop, redeemer) -> None:
    """PostgreSQL: a scan by the member's phone that read the member before the erasure
    and waits for its row once the erasure holds it: it must not credit the forgotten
    member (nor write its phone again); it becomes a new member's first scan."""
    a = redeemer.redeem(shop.code(1), phone=PA).member
    engine = shop.ctx.engine
    keyring = shop.ctx.keyring()
    with held(engine) as conn:
        forget_member(conn, a, keyring, utc())
        (scan,) = race(engine, lambda: redeemer.redeem(shop.code(2), phone=PA))
    result = scan.result()
    assert result.member != a and result.joined and result.balance == 10
    with engine.connect() as conn:
        row = conn.execute(text("SELECT phone, balance FROM members WHERE id = :m"), {"m": a}).one()
        conn.rollback()
    assert tuple(row) == (None, 10)
    shop.assert_balances_match_ledger()
