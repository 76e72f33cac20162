"""The earning steps over HTTP (no browser): CSRF on every step, what the server log
never holds (the phone, the one-time code, the scan), the SMS webhook's signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from tests.service.pages_support import CONFIG, Site, make_site
from tests.shop import PHONE, PHONE_E164, Shop

pytestmark = pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)

EARN_CONFIG = CONFIG + """
[sms]
backend = "file"
file = "sms.jsonl"
"""
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_CHALLENGE = re.compile(r'name="challenge" value="(\d+)"')


class Browser:
    """Cookies by hand: httpx keeps no ``Secure`` cookie over http://127.0.0.1."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in header or value in ('""', ""):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def get(self, path: str) -> httpx.Response:
        return self._keep(self.http.get(path, headers=self._cookie()))

    def post(self, path: str, csrf: bool = True, **data: str) -> httpx.Response:
        if csrf:
            data["csrf"] = self.csrf
        return self._keep(self.http.post(path, data=data, headers=self._cookie()))

    def _cookie(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}


@pytest.fixture
def earn_site(db_url: str, shop: Shop, tmp_path: Path) -> Iterator[Site]:
    s = make_site(shop, db_url, tmp_path, config=EARN_CONFIG)
    yield s
    s.server.stop()


def _sent(tmp_path: Path) -> list[dict[str, str]]:
    return [json.loads(x) for x in (tmp_path / "sms.jsonl").read_text().splitlines()]


def test_every_step_refuses_a_post_without_its_csrf_token(earn_site: Site) -> None:
    label = earn_site.path("shop", 1)
    before = earn_site.shop.snapshot()
    with earn_site.server.client() as http:
        b = Browser(http)
        b.get(label)
        for step in ("earn", "consent", "phone", "code"):
            refused = b.post(label, csrf=False, step=step, agree="yes", phone=PHONE)
            assert refused.status_code == 403 and "页面已过期" in refused.text, step
            with_token = b.post(label, step=step, agree="yes", phone=PHONE)
            assert with_token.status_code in (200, 422), step  # the step runs
        for path in ("/signin", "/logout"):
            assert b.post(path, csrf=False, step="consent", agree="yes").status_code == 403
        # another site's form is refused even with a token
        cross = http.post(label, data={"csrf": b.csrf, "step": "earn"},
                          headers={**b._cookie(), "Sec-Fetch-Site": "cross-site"})
        assert cross.status_code == 403
    assert earn_site.shop.snapshot() == before


def test_phone_code_and_scan_never_reach_the_server_log(earn_site: Site, tmp_path: Path) -> None:
    shop = earn_site.shop
    label = earn_site.path("shop", 1)
    with earn_site.server.client() as http:
        b = Browser(http)
        b.get(label)
        b.post(label, step="earn")
        b.post(label, step="consent", agree="yes")
        asked = b.post(label, step="phone", phone=PHONE)
        challenge = _CHALLENGE.search(asked.text)
        assert challenge is not None
        code = _sent(tmp_path)[-1]["code"]
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        assert b.post(label, step="code", challenge=challenge.group(1), code=wrong).status_code == 422
        assert b.post(label, step="code", challenge=challenge.group(1), code=code).status_code == 200
        earned = b.post(label, step="earn")
        assert "已到账 10 积分" in earned.text
        assert PHONE not in earned.text and code not in earned.text
        assert shop.code(1) not in earned.text
    log = earn_site.server.log()
    assert log  # the access log was written
    for secret in (PHONE, PHONE_E164, PHONE_E164[1:], code, wrong, shop.code(1),
                   shop.code(1).lower()):
        assert secret not in log, secret
    # the code is kept only as a salted hash, the session only as a hash
    with shop.ctx.engine.connect() as conn:
        from sqlalchemy import text

        rows = conn.execute(text("SELECT code_hash, salt FROM phone_challenges")).all()
        tokens = conn.execute(text("SELECT token_hash FROM page_sessions")).scalars().all()
        conn.rollback()
    assert all(code not in "".join(r) for r in rows)
    assert b.cookies["lc_session"] not in tokens
    assert hashlib.sha256(b.cookies["lc_session"].encode()).hexdigest() in tokens
    assert (tmp_path / "sms.jsonl").stat().st_mode & 0o777 == 0o600


def test_resends_are_limited_per_phone(earn_site: Site, tmp_path: Path) -> None:
    label = earn_site.path("shop", 1)
    with earn_site.server.client() as http:
        b = Browser(http)
        b.get(label)
        b.post(label, step="consent", agree="yes")
        for _ in range(5):
            assert b.post(label, step="phone", phone=PHONE).status_code == 200
        limited = b.post(label, step="phone", phone=PHONE)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "3600"
    assert len(_sent(tmp_path)) == 5


class _Gateway(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def test_the_webhook_sender_signs_its_message(db_url: str, shop: Shop, tmp_path: Path) -> None:
    gateway = HTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    _Gateway.received = []
    config = CONFIG + f"""
[sms]
backend = "webhook"
url = "http://127.0.0.1:{gateway.server_port}/sms"
"""
    import os

    secret = "s3cret-for-the-gateway"
    os.environ["LOYALCODE_SMS_SECRET"] = secret
    try:
        site = make_site(shop, db_url, tmp_path, config=config)
    finally:
        del os.environ["LOYALCODE_SMS_SECRET"]
    try:
        label = site.path("shop", 1)
        with site.server.client() as http:
            b = Browser(http)
            b.get(label)
            b.post(label, step="consent", agree="yes")
            assert b.post(label, step="phone", phone=PHONE).status_code == 200
    finally:
        site.server.stop()
        gateway.shutdown()
    headers, body = _Gateway.received[0]
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Loyalcode-Signature"] == f"sha256={expected}"
    message = json.loads(body)
    assert message["phone"] == PHONE_E164 and re.fullmatch(r"\d{6}", message["code"])

