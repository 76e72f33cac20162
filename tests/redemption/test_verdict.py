"""The anti-counterfeit verdict: the scan's state checks, read-only but for the counter."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text

from loyalcode.codegen.batches import void_batch
from loyalcode.codegen.errors import CodeTypo, ForgedCode, MalformedCode
from loyalcode.errors import LoyalcodeError
from loyalcode.redemption import Redeemer
from loyalcode.redemption.errors import Throttled, UnknownCode
from loyalcode.redemption.settings import RedemptionSettings
from loyalcode.redemption.verdict import Verdicts
from tests.shop import PHONE, TEMPLATE, Shop

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 8, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def _typo(code: str) -> str:
    last = code[-1]
    return code[:-1] + ("0" if last != "0" else "1")


def _forged(code: str) -> str:
    """Same check character rule, wrong tag: change a body symbol and fix the check."""
    from loyalcode.codegen.checkchar import calc_check_symbol

    body = code[:15]
    body = body[:3] + ("A" if body[3] != "A" else "B") + body[4:]
    return body + calc_check_symbol(body)


@pytest.fixture
def verdicts(ctx: Any, shop: Shop) -> Verdicts:
    return Verdicts(ctx, settings=RedemptionSettings(throttle_failures=3))


def _rows(shop: Shop, table: str) -> list[Any]:
    with shop.ctx.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM {table}")).all()
        conn.rollback()
        return list(rows)


def test_genuine_shows_the_product_and_points_and_counts_per_serial(
        verdicts: Verdicts, shop: Shop) -> None:
    code = shop.code(1)
    first = verdicts.verdict(f"HTTPS://LC.EXAMPLE.COM/C/{code}", source="203.0.113.7", now=NOW)
    assert (first.status, first.sku, first.name, first.points) == ("genuine", "SERUM-50",
                                                                   "Serum 50 ml", 10)
    assert first.serial == shop.serial_start and first.batch == shop.batch
    assert (first.queries, first.first_queried_at, first.redeemed_at) == (1, NOW, None)
    later = NOW + dt.timedelta(hours=1)
    second = verdicts.verdict(code.lower(), source="203.0.113.7", now=later)
    assert (second.queries, second.first_queried_at) == (2, NOW)
    # one row per serial, the serial and the instants: never the code
    rows = _rows(shop, "code_queries")
    assert [(r.serial, r.queries) for r in rows] == [(shop.serial_start, 2)]
    assert code not in repr(rows) and code.lower() not in repr(rows)


def test_already_redeemed_gives_the_date(verdicts: Verdicts, shop: Shop, redeemer: Redeemer) -> None:
    code = shop.code(2)
    redeemer.redeem(code, phone=PHONE, now=NOW)
    later = NOW + dt.timedelta(days=3)
    v = verdicts.verdict(code, source="203.0.113.7", now=later)
    assert v.status == "already_redeemed"
    assert v.redeemed_at == NOW


def test_a_verdict_never_redeems(verdicts: Verdicts, shop: Shop) -> None:
    before = shop.snapshot()
    for _ in range(3):
        assert verdicts.verdict(shop.code(3), now=NOW).status == "genuine"
    assert shop.snapshot() == before


@pytest.mark.parametrize("state", ["not_activated", "batch_void", "not_yet_valid", "expired",
                                   "genuine", "already_redeemed"])
def test_the_verdict_is_what_a_scan_would_answer(state: str, verdicts: Verdicts, shop: Shop,
                                                 redeemer: Redeemer) -> None:
    """The same state, the same word: the scan's refusal code (or its success) is the
    verdict's status, for every state a code of a known batch can be in."""
    today = NOW.date()
    if state == "not_activated":
        code = shop.code(600)  # 1..500 are activated
    elif state == "batch_void":
        batch, start = shop.batch_with()
        with shop.ctx.session() as s, s.begin():
            void_batch(s, batch)
        code = shop.code(1, start)
    elif state == "not_yet_valid":
        _, start = shop.batch_with(redeem_from=today + dt.timedelta(days=2))
        code = shop.code(1, start)
    elif state == "expired":
        _, start = shop.batch_with(redeem_until=today - dt.timedelta(days=2))
        code = shop.code(1, start)
    else:
        code = shop.code(5)
        if state == "already_redeemed":
            redeemer.redeem(code, phone="13700137000", now=NOW)
    v = verdicts.verdict(code, now=NOW)
    assert v.status == state
    try:
        redeemer.redeem(code, phone=PHONE, now=NOW)
    except LoyalcodeError as err:
        assert err.code == state
    else:
        assert state == "genuine"


@pytest.mark.parametrize(("mangle", "error"), [
    (_typo, CodeTypo), (_forged, ForgedCode), (lambda c: c[:9], MalformedCode),
])
def test_refusals_are_raised_and_counted_against_the_source(
        mangle: Any, error: type[Exception], verdicts: Verdicts, shop: Shop) -> None:
    good = shop.code(7)
    for _ in range(3):
        with pytest.raises(error):
            verdicts.verdict(mangle(good), source="198.51.100.9", now=NOW)
    # throttled now, whatever the code: no oracle
    with pytest.raises(Throttled) as caught:
        verdicts.verdict(good, source="198.51.100.9", now=NOW)
    assert caught.value.retry_after == 600
    # another source is not throttled; nothing counted the serial
    assert verdicts.verdict(good, source="198.51.100.10", now=NOW).queries == 1
    assert [r.kind for r in _rows(shop, "scan_failures")] == ["source"]
    assert "198.51.100.9" not in repr(_rows(shop, "scan_failures"))


def test_unknown_serial(verdicts: Verdicts, shop: Shop) -> None:
    from loyalcode.codegen.codec import encode

    stray = encode(shop.keyring, shop.serial_start + 50_000)  # in no batch
    for _ in range(3):
        with pytest.raises(UnknownCode):
            verdicts.verdict(stray, source="192.0.2.1", now=NOW)
    with pytest.raises(Throttled):
        verdicts.verdict(shop.code(1), source="192.0.2.1", now=NOW)
    assert _rows(shop, "code_queries") == []


def test_gs1_digital_link_and_template_payloads(verdicts: Verdicts, shop: Shop) -> None:
    code = shop.code(8)
    assert TEMPLATE.endswith("{code}")
    v = verdicts.verdict(f"https://brand.example/01/09501101020917/21/ABCD?c={code}", now=NOW)
    assert v.status == "genuine"
