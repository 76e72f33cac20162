"""Profiles: completeness from configuration, the bonus credited once (repeats,
concurrency, merges), validation."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalcode.loyalty import members
from loyalcode.loyalty.errors import InvalidProfile, PhoneRequired
from loyalcode.loyalty.profile import profile_of, update_profile
from loyalcode.loyalty.settings import LoyaltySettings
from tests.loyal import PROFILE, T0, Loyal, phone


def test_completion_credits_the_bonus_once(loyal: Loyal) -> None:
    m = loyal.member(phone(1))
    with loyal.tx() as conn:
        first = update_profile(conn, m, loyal.settings, T0, name="王小明", city="上海")
    assert first.bonus == 0 and first.profile.missing == ("gender", "birthday")
    done = loyal.complete(m)
    assert done.bonus == 100 and done.balance == 100 and done.profile.complete
    assert [e.type for e in done.events] == ["profile_completed"]
    again = loyal.complete(m)
    with loyal.tx() as conn:
        more = update_profile(conn, m, loyal.settings, T0, city="北京", email="a@example.com")
    assert again.bonus == 0 and more.bonus == 0 and more.balance == 100
    assert loyal.scalar("SELECT count(*) FROM ledger WHERE kind = 'profile_bonus'") == 1
    (payload,) = loyal.events("profile_completed")
    assert payload == {"member": m, "balance": 100, "tier": "普卡", "points": 100}
    loyal.check_ledger()


def test_which_fields_complete_a_profile_is_configuration(loyal: Loyal) -> None:
    settings = LoyaltySettings(profile_fields=("name", "email"), profile_bonus=7)
    m = loyal.member(phone(2))
    with loyal.tx() as conn:
        r = update_profile(conn, m, settings, T0, **PROFILE)
    assert r.profile.missing == ("email",) and r.bonus == 0
    with loyal.tx() as conn:
        r = update_profile(conn, m, settings, T0, email="wang@example.cn")
    assert r.bonus == 7 and r.balance == 7


def test_a_member_without_a_phone_cannot_update(loyal: Loyal) -> None:
    with loyal.tx() as conn:
        m = members.bind(conn, now=T0, identities={"openid": "o-1"}).member
    with pytest.raises(PhoneRequired), loyal.tx() as conn:
        update_profile(conn, m, loyal.settings, T0, **PROFILE)
    assert loyal.scalar("SELECT count(*) FROM member_profiles") == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("gender", "robot"), ("birthday", "1990-13-01"), ("birthday", "2999-01-01"),
     ("name", ""), ("name", "x" * 101), ("email", "not-an-email"), ("city", "a\x00b")],
)
def test_invalid_fields_are_refused(loyal: Loyal, field: str, value: str) -> None:
    m = loyal.member(phone(3))
    with pytest.raises(InvalidProfile) as err, loyal.tx() as conn:
        update_profile(conn, m, loyal.settings, T0, **{field: value})
    assert err.value.code == "invalid_profile" and field in err.value.message


def test_bonus_once_after_a_merge_into_a_member_without_one(loyal: Loyal) -> None:
    """The absorbed member had the bonus; the survivor keeps the flag, so completing
    the survivor's profile again credits nothing."""
    a = loyal.member(phone(4))
    loyal.complete(a)
    b = loyal.member(phone(5))
    with loyal.tx() as conn:
        members.merge(conn, absorbed=a, into=b, now=T0)  # an operator's merge: a bind never merges two phones
    r = loyal.complete(b)
    assert r.bonus == 0 and r.balance == 100
    with loyal.tx() as conn:
        assert profile_of(conn, b, loyal.settings).bonus_at is not None
    assert loyal.scalar("SELECT count(*) FROM ledger WHERE kind = 'profile_bonus'") == 1
    loyal.check_ledger()


def test_two_bonuses_merged_leave_one(loyal: Loyal) -> None:
    a, b = loyal.member(phone(6)), loyal.member(phone(7))
    loyal.earn(phone(6), 1)  # 10 points besides the bonus
    loyal.complete(a)
    loyal.complete(b)
    with loyal.tx() as conn:
        members.merge(conn, absorbed=a, into=b, now=T0)
    assert loyal.balance(b) == 110
    net = loyal.scalar(
        "SELECT sum(delta) FROM ledger WHERE kind IN ('profile_bonus', 'bonus_reversed')"
    )
    assert net == 100
    assert len(loyal.events("profile_bonus_reversed")) == 1
    assert loyal.complete(b).bonus == 0
    loyal.check_ledger()


def test_merge_with_an_openid_member_keeps_the_bonus_flag(loyal: Loyal) -> None:
    a = loyal.member(phone(8))
    loyal.complete(a)
    with loyal.tx() as conn:
        o = members.bind(conn, now=T0, identities={"openid": "wx-8"}).member
        members.bind(conn, now=T0, member_id=o, phone=phone(8), phone_verified=True)  # o merged into a
    assert loyal.complete(a).bonus == 0
    assert loyal.scalar("SELECT count(*) FROM ledger WHERE kind = 'profile_bonus'") == 1


def test_concurrent_completions_credit_once(loyal: Loyal, db_url: str) -> None:
    import threading

    m = loyal.member(phone(9))
    barrier = threading.Barrier(6)
    results: list[int] = []
    errors: list[BaseException] = []

    def go() -> None:
        try:
            barrier.wait(10)
            with loyal.tx() as conn:
                results.append(update_profile(conn, m, loyal.settings, T0, **PROFILE).bonus)
        except BaseException as exc:  # report in the test
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and sorted(results) == [0, 0, 0, 0, 0, 100]
    assert loyal.balance(m) == 100
    loyal.check_ledger()


def test_cli_member_update(loyal: Loyal, cli) -> None:  # type: ignore[no-untyped-def]
    loyal.member(phone(10))
    r = cli("member", "update", "--phone", phone(10), "--name", "Li", "--gender", "男",
            "--birthday", "1985-02-03", "--city", "广州", "--json")
    assert r.exit_code == 0, r.stderr
    body = r.json()
    assert body["complete"] and body["bonus"] == 100 and body["gender"] == "male"
    r = cli("member", "update", "--phone", phone(10), "--birthday", "03/02/1985", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "invalid_profile"
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("error [invalid_profile]")
    r = cli("member", "profile", "--phone", phone(10), "--json")
    assert r.exit_code == 0 and r.json()["balance"] == 100 and r.json()["lots"][0]["remaining"] == 100
    r = cli("member", "update", "--phone", phone(11), "--name", "x")
    assert r.exit_code == 1 and r.stderr.startswith("error [member_not_found]")
    _ = dt
