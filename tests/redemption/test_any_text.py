"""Arbitrary text at every text argument of the scan, the member calls and the gift
calls, on SQLite and PostgreSQL: only the project's typed errors come out (never a
``UnicodeEncodeError`` from a lone surrogate, a driver's error for a NUL, ...), and a
message repeats no more than a short, printable prefix of what was sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalcode.errors import InvalidInput, LoyalcodeError
from loyalcode.loyalty import members
from loyalcode.loyalty.gifts import add_gift, cancel_order, find_gift, redeem_gift
from loyalcode.loyalty.profile import update_profile
from loyalcode.loyalty.settings import PROFILE_FIELDS, LoyaltySettings
from loyalcode.store.timeutil import utc
from tests.shop import PHONE

#: What a JSON body can carry that no field means, beside ordinary text.
_NASTY = ["\x00", "\ud800", "\udfff", "\x1b", "\x7f", "\x85", "\u2028", "\u202e", "\u3000",
          "\uff11\uff13\uff18", "\ufeff", "\U0001f600", "'", "%", "%s", "{}", "\\", "' OR 1=1 --"]

_char = st.one_of(st.characters(exclude_categories=()),
                  st.sampled_from([c for c in _NASTY if len(c) == 1]))
text = st.one_of(
    st.text(_char, max_size=40),
    st.builds("".join, st.lists(st.sampled_from(_NASTY), max_size=4)),
    st.sampled_from(["", " ", PHONE, "+8613800138000", "oX", "31", "440106", "GD-DIST", "MUG",
                     "203.0.113.7", "1"]),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "1", "\x00", "\ud800", "中"]),
              st.integers(100, 200_000)),
)
maybe = st.one_of(st.none(), text)

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _only_typed(call: Callable[[], Any], sent: list[Any]) -> None:
    """``call()`` returns or raises a :class:`LoyalcodeError` whose body is JSON-safe,
    short, printable, and repeats nothing long of what was ``sent``."""
    try:
        call()
    except LoyalcodeError as err:
        body = json.dumps(err.to_dict(), ensure_ascii=False).encode("utf-8")  # no surrogate
        assert len(body) < 600, body[:200]
        assert err.message.isprintable(), repr(err.message)
        for value in sent:
            if isinstance(value, str) and len(value.strip()) > 24:
                assert value.strip() not in err.message


@SETTINGS
@given(scan=text, phone=maybe, openid=maybe, region=maybe, source=maybe, channel=maybe,
       verified=st.booleans())
def test_redeem_takes_any_text(shop, redeemer, scan, phone, openid, region, source, channel,
                               verified) -> None:
    def call() -> Any:
        return redeemer.redeem(scan, phone=phone, openid=openid, region=region, source=source,
                               purchase_channel=channel, phone_verified=verified)

    _only_typed(call, [scan, phone, openid, region, source, channel])


@SETTINGS
@given(phone=maybe, kind=st.one_of(st.sampled_from(["openid", "unionid", "shop"]), text),
       value=text, via=text, verified=st.booleans())
def test_member_calls_take_any_text(shop, phone, kind, value, via, verified) -> None:
    engine = shop.ctx.engine
    calls = [
        lambda c: members.bind(c, now=utc(), phone=phone, identities={kind: value}, via=via,
                               phone_verified=verified),
        lambda c: members.bind(c, now=utc(), phone=phone, identities={kind: value},
                               phone_verified=verified),
        lambda c: members.check_bind(c, phone=phone, identities={kind: value}),
        lambda c: members.find_member(c, phone=phone) if phone is not None else None,
        lambda c: members.find_member(c, identities={kind: value}),
    ]
    for call in calls:
        def in_tx(call: Callable[[Any], Any] = call) -> Any:
            with engine.connect() as conn, conn.begin():
                return call(conn)

        _only_typed(in_tx, [phone, kind, value, via])


@SETTINGS
@given(field=st.one_of(st.sampled_from(PROFILE_FIELDS), text), value=text)
def test_profile_takes_any_text(shop, field, value) -> None:
    engine = shop.ctx.engine
    with engine.connect() as conn, conn.begin():
        member = members.bind(conn, now=utc(), phone=PHONE).member
    loyal = LoyaltySettings.from_config(shop.ctx.config)

    def call() -> Any:
        with engine.connect() as conn, conn.begin():
            return update_profile(conn, member, loyal, utc(), **{field: value})

    _only_typed(call, [field, value])


@SETTINGS
@given(sku=text, name=text, gift=st.one_of(text, st.integers()), reason=maybe,
       order=st.integers())
def test_gift_calls_take_any_text(shop, sku, name, gift, reason, order) -> None:
    engine = shop.ctx.engine
    loyal = LoyaltySettings.from_config(shop.ctx.config)
    with engine.connect() as conn, conn.begin():
        member = members.bind(conn, now=utc(), phone=PHONE).member
    calls = [
        lambda c: add_gift(c, sku=sku, name=name, points=10, stock=5, now=utc()),
        lambda c: find_gift(c, gift),
        lambda c: redeem_gift(c, member, gift, loyal, utc()),
        lambda c: cancel_order(c, order, loyal, utc(), reason=reason),
    ]
    for call in calls:
        def in_tx(call: Callable[[Any], Any] = call) -> Any:
            with engine.connect() as conn, conn.begin():
                return call(conn)

        _only_typed(in_tx, [sku, name, gift, reason])


@pytest.mark.parametrize(("argument", "field"), [
    ("purchase_channel", "purchase_channel"), ("source", "source"), ("region", "region"),
    ("openid", "openid"), ("phone", "phone"),
])
@pytest.mark.parametrize("bad", ["GD\ud800", "GD\x00", "GD\x1b[31m", "G" * 100_000])
def test_each_argument_of_redeem_is_checked_at_the_edge(shop, redeemer, argument, field, bad) -> None:
    """The findings: a lone surrogate in purchase_channel raised a raw
    UnicodeEncodeError; a NUL came back as database_error; values were echoed whole."""
    kwargs = {"phone": PHONE, argument: bad}
    before = shop.snapshot()
    with pytest.raises(InvalidInput) as err:
        redeemer.redeem(shop.code(1), **kwargs)
    assert err.value.code == "invalid_input"
    assert err.value.to_dict()["field"] == field
    assert "GD" not in err.value.message and len(err.value.message) < 100
    assert shop.snapshot() == before


def test_an_unknown_purchase_channel_is_echoed_short_and_printable(shop, redeemer) -> None:
    from loyalcode.channels.errors import ChannelNotFound

    with pytest.raises(ChannelNotFound) as err:
        redeemer.redeem(shop.code(1), phone=PHONE, purchase_channel="NO-SUCH-" + "X" * 50)
    assert err.value.message == "Channel 'NO-SUCH-XXXXXXXX…' not found."
