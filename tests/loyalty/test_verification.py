"""The pages' identity in the library, on SQLite and PostgreSQL: sessions, consent, and
SMS codes (hashed, 5 minutes, 5 attempts, hourly send limits)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text

from loyalcode.loyalty import verification as v
from tests.shop import PHONE, PHONE_E164

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def _consented(conn: Any, now: dt.datetime = T0) -> str:
    token = v.open_session(conn, now)
    v.record_consent(conn, token, "2", now)
    return token


def test_a_right_code_binds_the_member_and_records_the_consent(ctx: Any) -> None:
    with ctx.engine.begin() as conn:
        token = _consented(conn)
        challenge = v.start_challenge(conn, token, PHONE, "203.0.113.9", T0)
        assert challenge.phone == PHONE_E164 and len(challenge.code) == 6
        member = v.attempt_code(conn, token, challenge.id, challenge.code,
                                T0 + dt.timedelta(minutes=4))
        assert isinstance(member, int)
        session = v.find_session(conn, token, T0 + dt.timedelta(days=29))
        assert session is not None and (session.member_id, session.phone) == (member, PHONE_E164)
        consent = conn.execute(text("SELECT version FROM member_consents WHERE member_id = :m"),
                               {"m": member}).scalars().all()
        assert consent == ["2"]
        # used once only; the session ends after 30 days, or at logout
        with pytest.raises(v.CodeExpired):
            v.attempt_code(conn, token, challenge.id, challenge.code, T0)
        assert v.find_session(conn, token, T0 + dt.timedelta(days=30, seconds=1)) is None
        v.end_session(conn, token)
        assert v.find_session(conn, token, T0) is None


def test_no_code_without_consent(ctx: Any) -> None:
    with ctx.engine.begin() as conn:
        token = v.open_session(conn, T0)
        with pytest.raises(v.ConsentRequired):
            v.start_challenge(conn, token, PHONE, None, T0)
        with pytest.raises(v.ConsentRequired):
            v.start_challenge(conn, "no-such-session", PHONE, None, T0)


def test_a_code_expires_after_five_minutes_and_locks_after_five_tries(ctx: Any) -> None:
    with ctx.engine.begin() as conn:
        token = _consented(conn)
        late = v.start_challenge(conn, token, PHONE, None, T0)
        with pytest.raises(v.CodeExpired):
            v.attempt_code(conn, token, late.id, late.code, T0 + dt.timedelta(minutes=5))
        tried = v.start_challenge(conn, token, PHONE, None, T0)
        wrong = f"{(int(tried.code) + 1) % 1_000_000:06d}"
        outcomes = [v.attempt_code(conn, token, tried.id, wrong, T0) for _ in range(5)]
        assert [o.code for o in outcomes] == ["sms_code_wrong"] * 4 + ["sms_code_locked"]  # type: ignore[union-attr]
        assert [o.facts.get("left") for o in outcomes[:4]] == [4, 3, 2, 1]  # type: ignore[union-attr]
        with pytest.raises(v.CodeLocked):  # the right code is no use now
            v.attempt_code(conn, token, tried.id, tried.code, T0)
        # another session cannot use this session's code
        other = _consented(conn)
        fresh = v.start_challenge(conn, token, PHONE, None, T0)
        with pytest.raises(v.CodeExpired):
            v.attempt_code(conn, other, fresh.id, fresh.code, T0)
        stored = conn.execute(text("SELECT code_hash FROM phone_challenges")).scalars().all()
        assert tried.code not in stored and all(len(h) == 64 for h in stored)


def test_sends_are_limited_per_phone_and_per_address_each_hour(ctx: Any) -> None:
    with ctx.engine.begin() as conn:
        token = _consented(conn)
        for _ in range(v.SENDS_PER_PHONE):
            v.start_challenge(conn, token, PHONE, None, T0)
        with pytest.raises(v.SendLimited):
            v.start_challenge(conn, token, PHONE, None, T0 + dt.timedelta(minutes=59))
        v.start_challenge(conn, token, PHONE, None, T0 + dt.timedelta(minutes=61))
        for i in range(v.SENDS_PER_ADDRESS):
            v.start_challenge(conn, token, f"1390013{i:04d}", "198.51.100.7", T0)
        with pytest.raises(v.SendLimited):
            v.start_challenge(conn, token, "13700137000", "198.51.100.7", T0)


def test_purge_drops_day_old_codes_and_expired_sessions(ctx: Any) -> None:
    with ctx.engine.begin() as conn:
        token = _consented(conn)
        v.start_challenge(conn, token, PHONE, None, T0)
        assert v.purge(conn, T0 + dt.timedelta(hours=23)) == (0, 0)
        assert v.purge(conn, T0 + dt.timedelta(days=1, seconds=1)) == (1, 0)
        assert v.purge(conn, T0 + dt.timedelta(days=30, seconds=1)) == (0, 1)
        assert v.find_session(conn, token, T0) is None
