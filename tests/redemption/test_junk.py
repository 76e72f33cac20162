"""Junk scans get typed errors and change no member, ledger or redemption row; and no
table ever holds the text of a scan or a code."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import inspect, text

from loyalcode.errors import RedemptionError
from loyalcode.redemption.errors import AlreadyRedeemed
from tests.shop import OTHER_PHONE, PHONE

JUNK = [
    "",
    " ",
    "0" * 10_000,
    "A" * 10_240,
    "7KX4\x009QPM\x002HDF\x008W3T",
    "\x00" * 16,
    "'; DROP TABLE redemptions; --",
    "1 OR 1=1",
    "' UNION SELECT phone FROM members --",
    "😀" * 16,
    "🎁🎁🎁🎁-🎁🎁🎁🎁-🎁🎁🎁🎁-🎁🎁🎁🎁",
    "https://evil.example.com/",
    "https://www.taobao.com/item.htm?id=123456789",
    "https://another-brand.example/c/ZZZZZZZZZZZZZZZZ",
    "javascript:alert(1)",
    "\u202e7KX49QPM2HDF8W3T",
    None,
    b"7KX49QPM2HDF8W3T",
    12345,
]


@pytest.mark.parametrize("scan", JUNK, ids=range(len(JUNK)))
def test_junk_gets_a_typed_error_and_changes_nothing(shop, redeemer, scan) -> None:
    redeemer.redeem(shop.code(1), phone=PHONE)
    before = shop.snapshot()
    with pytest.raises(RedemptionError) as err:
        redeemer.redeem(scan, phone=OTHER_PHONE, region="31", source="10.1.2.3")
    assert err.value.code in ("malformed", "typo", "forged")
    assert shop.snapshot() == before
    assert "DROP" not in err.value.message and "evil" not in err.value.message


def _all_text(ctx) -> str:
    """Every value of every table, as text."""
    chunks: list[str] = []
    with ctx.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                chunks.append(" ".join(str(v) for v in row))
        conn.rollback()
    return "\n".join(chunks).upper()


def test_no_scanned_text_or_code_is_stored(shop, redeemer) -> None:
    def attempt(scan, **kw):
        try:
            redeemer.redeem(scan, **kw)
        except RedemptionError:
            pass

    c1, c2, c3, c4 = shop.code(1), shop.code(2), shop.code(501), shop.code(9999)
    redeemer.redeem(f"https://lc.example.com/c/{c1}", phone=PHONE, openid="oNoText", region="31",
                    phone_verified=True)
    attempt(c1, phone=OTHER_PHONE)  # clone alert
    attempt(c1, phone=PHONE)
    attempt(c2[:5] + ("0" if c2[5] != "0" else "1") + c2[6:], phone=PHONE, source="dev-9")  # typo
    attempt(c3, phone=PHONE)  # not activated
    attempt(c4, phone=PHONE, source="dev-9")  # unknown
    attempt(c2, openid="oAnon")  # phone required
    redeemer.redeem(c2.lower(), phone=OTHER_PHONE)
    with pytest.raises(AlreadyRedeemed):
        redeemer.redeem(c2, phone=PHONE)
    dump = _all_text(shop.ctx)
    assert shop.used
    for code in shop.used:
        for i in range(len(code) - 7):
            assert code[i : i + 8] not in dump, "a run of 8 code symbols is stored"
    # The batch keeps its payload template; no scanned URL is stored beside it.
    assert len(re.findall(r"LC\.EXAMPLE\.COM/C/", dump)) == 1
