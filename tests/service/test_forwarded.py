"""The throttle's source from X-Forwarded-For, only behind a trusted proxy."""

from __future__ import annotations

import ipaddress

import pytest
from starlette.requests import Request

from loyalcode.service.routes.redemptions import forwarded_client

TRUSTED = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8"))


def _request(peer: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers,
                    "client": (peer, 1234)})


@pytest.mark.parametrize(("peer", "forwarded", "trusted", "expected"), [
    ("127.0.0.1", "203.0.113.7", TRUSTED, "203.0.113.7"),
    ("127.0.0.1", "198.51.100.1, 203.0.113.7, 10.1.2.3", TRUSTED, "203.0.113.7"),
    ("127.0.0.1", "203.0.113.7", (), None),  # no proxies trusted
    ("192.0.2.1", "203.0.113.7", TRUSTED, None),  # the peer is no trusted proxy
    ("127.0.0.1", None, TRUSTED, None),
    ("127.0.0.1", "not-an-address", TRUSTED, None),
    ("127.0.0.1", "10.0.0.1, 127.0.0.1", TRUSTED, None),  # nothing but proxies
])
def test_forwarded_client(peer: str, forwarded: str | None, trusted: tuple[object, ...],
                          expected: str | None) -> None:
    assert forwarded_client(_request(peer, forwarded), trusted) == expected  # type: ignore[arg-type]
