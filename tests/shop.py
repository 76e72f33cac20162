"""Fixtures of the redemption tests: a small distribution tree, a batch, a Redeemer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from loyalcode.channels.activation import activate
from loyalcode.channels.batches import create_batch
from loyalcode.channels.tree import add_channel
from loyalcode.codegen.codec import encode

UTC = dt.UTC
PHONE = "13800138000"
PHONE_E164 = "+8613800138000"
OTHER_PHONE = "13900139000"
TEMPLATE = "HTTPS://LC.EXAMPLE.COM/C/{code}"


@dataclass
class Shop:
    """A distributor (Guangdong) with a wholesaler below it (Guangzhou), a Shanghai
    retailer, and batch ``batch`` of 1,000 codes worth 10 points each, codes 1..500
    activated for the distributor."""

    ctx: Any
    keyring: Any
    batch: int
    serial_start: int
    used: set[str]

    def code(self, seq: int, batch_start: int | None = None) -> str:
        """The canonical code of sequence number ``seq`` (remembered as used)."""
        code = encode(self.keyring, (batch_start or self.serial_start) + seq - 1)
        self.used.add(code)
        return code

    def batch_with(self, **kwargs: Any) -> tuple[int, int]:
        """Another batch (id, serial_start), activated whole for GD-DIST unless told."""
        activate_it = kwargs.pop("activate", True)
        with self.ctx.session() as s, s.begin():
            b = create_batch(s, sku=kwargs.pop("sku", "TEA-250"), quantity=kwargs.pop("quantity", 100),
                             points=kwargs.pop("points", 5), payload_template=TEMPLATE, **kwargs)
            if activate_it:
                activate(s, b.id, channel="GD-DIST")
            return b.id, b.serial_start

    def count(self, table: str) -> int:
        with self.ctx.engine.connect() as conn:
            value = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            conn.rollback()
            return int(value)

    def snapshot(self) -> dict[str, int]:
        """Row counts of the tables a refusal must not touch (and balances)."""
        out = {t: self.count(t) for t in ("members", "member_identities", "ledger", "redemptions")}
        with self.ctx.engine.connect() as conn:
            out["balance_total"] = int(
                conn.execute(text("SELECT coalesce(sum(balance), 0) FROM members")).scalar_one()
            )
            conn.rollback()
        return out

    def assert_balances_match_ledger(self) -> None:
        with self.ctx.engine.connect() as conn:
            bad = conn.execute(
                text(
                    "SELECT m.id, m.balance, coalesce(sum(l.delta), 0) AS total FROM members m "
                    "LEFT JOIN ledger l ON l.member_id = m.id GROUP BY m.id, m.balance "
                    "HAVING m.balance <> coalesce(sum(l.delta), 0)"
                )
            ).all()
            # earned_total (the tier bound) is the sum of the member's earn entries
            bad_earned = conn.execute(
                text(
                    "SELECT m.id, m.earned_total FROM members m WHERE m.earned_total <> "
                    "(SELECT coalesce(sum(l.delta), 0) FROM ledger l "
                    " WHERE l.member_id = m.id AND l.kind = 'earn')"
                )
            ).all()
            conn.rollback()
        assert bad == []
        assert bad_earned == []


@pytest.fixture
def shop(ctx: Any, keyring: Any, request: pytest.FixtureRequest) -> Shop:
    with ctx.session() as s, s.begin():
        add_channel(s, "GD-DIST", name="Guangdong distributor", kind="distributor", region="440000")
        add_channel(s, "GZ-WHOLE", name="Guangzhou wholesaler", kind="wholesaler", region="4401",
                    parent="GD-DIST")
        add_channel(s, "SH-SHOP", name="Shanghai shop", kind="retailer", region="31")
        b = create_batch(s, sku="SERUM-50", name="Serum 50 ml", quantity=1000, points=10,
                         payload_template=TEMPLATE)
        batch_id, start = b.id, b.serial_start
        activate(s, batch_id, channel="GD-DIST", seq_from=1, seq_to=500)
    return Shop(ctx=ctx, keyring=keyring, batch=batch_id, serial_start=start, used=set())


@pytest.fixture
def redeemer(ctx: Any, shop: Shop) -> Iterator[Any]:
    from loyalcode.redemption import Redeemer

    r = Redeemer(ctx)
    yield r
    r.close()
