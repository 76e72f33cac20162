"""A deployment for the consumer pages' tests: the shop, batches on other payload
templates and in every state, branding, and a running server on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from loyalcode.channels.activation import activate
from loyalcode.channels.batches import create_batch
from loyalcode.codegen.batches import void_batch
from loyalcode.codegen.payload import PayloadTemplate
from tests.service.support import Server, start_server
from tests.shop import TEMPLATE, Shop

GTIN = "09501101020917"
CUSTOM = "https://q.Brand.example/Verify/{serial}/{code}"
GS1 = "https://lc.example.com/01/{gtin}/21/{serial}?c={code}"
BRAND = "润肤坊"
PHONE_LINE = "400 800 1234"
COLOR = "#7a1f5c"
#: A 1x1 PNG (the logo).
LOGO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0000003010100c9fe92ef0000000049454e44ae426082")

CONFIG = f"""
[redemption]
throttle_failures = 4

[site]
brand_name = "{BRAND}"
support_phone = "{PHONE_LINE}"
primary_color = "{COLOR}"
logo = "logo.png"
"""


@dataclass
class Site:
    """The shop plus one batch per template and per state; ``url(kind)`` is a label's
    path and query (the host is the proxy's) for a code of that kind."""

    shop: Shop
    server: Server
    starts: dict[str, int] = field(default_factory=dict)

    def code(self, kind: str, seq: int = 1) -> str:
        if kind == "shop":
            return self.shop.code(seq)
        return self.shop.code(seq, self.starts[kind])

    def payload(self, kind: str, seq: int = 1, *, template: str | None = None) -> str:
        """The full payload printed on a label of this kind."""
        text = template or {"custom": CUSTOM, "gs1": GS1}.get(kind, TEMPLATE)
        return PayloadTemplate.parse(text, gtin=GTIN).render(
            code=self.code(kind, seq), serial="Q7MX3K", gtin=GTIN, batch=1)

    def path(self, kind: str, seq: int = 1, **kwargs: Any) -> str:
        payload = self.payload(kind, seq, **kwargs)
        return "/" + payload.split("://", 1)[1].split("/", 1)[1]


def make_site(shop: Shop, db_url: str, tmp_path: Path, config: str = CONFIG) -> Site:
    today = dt.datetime.now(dt.UTC).date()
    starts: dict[str, int] = {}
    batches = {
        "custom": {"payload_template": CUSTOM, "name": "Toner 100 ml", "sku": "TONER-100"},
        "gs1": {"payload_template": GS1, "gtin": GTIN, "name": "Cream 30 g", "sku": "CREAM-30",
                "line": "L3", "produced_on": dt.date(2026, 11, 20)},
        "not_yet_valid": {"redeem_from": today + dt.timedelta(days=30)},
        "expired": {"redeem_until": today - dt.timedelta(days=30)},
        "batch_void": {},
    }
    with shop.ctx.session() as s, s.begin():
        for kind, details in batches.items():
            details = dict(details)
            b = create_batch(s, sku=details.pop("sku", "SERUM-50"), quantity=100, points=5,
                             payload_template=details.pop("payload_template", TEMPLATE),
                             name=details.pop("name", "Serum 50 ml"), **details)
            activate(s, b.id, channel="GD-DIST")
            starts[kind] = b.serial_start
            if kind == "batch_void":
                void_batch(s, b.id)
    (tmp_path / "logo.png").write_bytes(LOGO)
    server = start_server(db_url, config=config, tmp_path=tmp_path)
    return Site(shop=shop, server=server, starts=starts)


@pytest.fixture
def site(db_url: str, shop: Shop, tmp_path: Path) -> Iterator[Site]:
    s = make_site(shop, db_url, tmp_path)
    yield s
    s.server.stop()
