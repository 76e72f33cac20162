"""Fixtures of the loyalty tests: the redemption shop (a batch, channels, a Redeemer)
plus helpers to earn, complete profiles and check the ledger."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection, text

from loyalcode.loyalty.settings import LoyaltySettings, Tier
from tests.shop import Shop

UTC = dt.UTC
CST = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2025, 3, 15, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
PROFILE = {"name": "王小明", "gender": "female", "birthday": "1990-05-01", "city": "上海"}


def phone(i: int) -> str:
    return f"+86138{i:08d}"


@dataclass
class Loyal:
    shop: Shop
    redeemer: Any
    settings: LoyaltySettings
    next_seq: int = 1

    @property
    def engine(self) -> Any:
        return self.shop.ctx.engine

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def earn(self, who: str, codes: int = 1, when: dt.datetime | None = None, **kw: Any) -> Any:
        """Redeem ``codes`` fresh codes (10 points each) for phone ``who``."""
        result = None
        for _ in range(codes):
            code = self.shop.code(self.next_seq)
            self.next_seq += 1
            result = self.redeemer.redeem(code, phone=who, now=when or T0, **kw)
        return result

    def member(self, who: str) -> int:
        from loyalcode.loyalty import members

        with self.tx() as conn:
            return members.bind(conn, now=T0, phone=who).member

    def complete(self, member: int, when: dt.datetime = T0) -> Any:
        from loyalcode.loyalty.profile import update_profile

        with self.tx() as conn:
            return update_profile(conn, member, self.settings, when, **PROFILE)

    def balance(self, member: int) -> int:
        return int(self.scalar("SELECT balance FROM members WHERE id = :m", m=member))

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            value = conn.execute(text(sql), params).scalar()
            conn.rollback()
            return value

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            value = conn.execute(text(sql), params).all()
            conn.rollback()
            return value

    def events(self, type_: str) -> list[dict[str, Any]]:
        import json

        out = []
        for (payload,) in self.rows("SELECT payload FROM events WHERE type = :t ORDER BY id", t=type_):
            out.append(json.loads(payload) if isinstance(payload, str) else payload)
        return out

    def check_ledger(self) -> None:
        """Balances equal their ledgers, none below zero, ledger_refs mirror the ledger."""
        self.shop.assert_balances_match_ledger()
        assert self.scalar("SELECT count(*) FROM members WHERE balance < 0") == 0
        assert self.rows(
            "SELECT r.ledger_id FROM ledger_refs r JOIN ledger l ON l.id = r.ledger_id "
            "WHERE r.delta <> l.delta OR r.kind <> l.kind"
        ) == []


@pytest.fixture
def loyal(shop: Shop, redeemer: Any) -> Loyal:
    return Loyal(shop=shop, redeemer=redeemer, settings=LoyaltySettings())


TEST_TIERS = (Tier("普卡", 0), Tier("银卡", 30, 1.0), Tier("金卡", 60, 2.0))
