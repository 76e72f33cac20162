"""The consumer pages over HTTP against a real server: every payload form, every
verdict and refusal page, headers, the manual entry's CSRF, logs without codes."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from typing import Any

import httpx
import pytest

from loyalcode.codegen.checkchar import calc_check_symbol
from loyalcode.codegen.codec import encode
from loyalcode.redemption import Redeemer
from loyalcode.service.pages.render import PAGE_CSP
from tests.service.pages_support import BRAND, COLOR, LOGO, PHONE_LINE, Site
from tests.service.support import problem
from tests.shop import PHONE

#: The subject is the HTTP face: SQLite only (the verdict runs on both in tests/redemption).
sqlite_only = pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
pytestmark = sqlite_only
MAX_PAGE = 50_000


def _forged(code: str) -> str:
    body = code[:3] + ("A" if code[3] != "A" else "B") + code[4:15]
    return body + calc_check_symbol(body)


def _typo(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


def _title(page: httpx.Response) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", page.text)
    assert found, page.text
    return found.group(1)


def _variants(path: str) -> list[str]:
    """The path as printed, in lower case, and with a trailing slash before the query."""
    base, _, query = path.partition("?")
    tail = f"?{query}" if query else ""
    return [path, path.lower(), f"{base}/{tail}", f"{base.lower()}/{tail.lower()}"]


def test_every_payload_form_answers_with_the_verdict_and_the_page_headers(site: Site) -> None:
    with site.server.client() as http:
        for kind in ("shop", "custom", "gs1"):
            for seq, path in enumerate(_variants(site.path(kind, 1)), start=1):
                path = site.path(kind, seq)  # a fresh code each time: a first query
                path = _variants(path)[seq - 1]
                page = http.get(path)
                assert page.status_code == 200, (path, page.text)
                assert _title(page) == "正品", path
                headers = page.headers
                assert headers.get_list("content-security-policy") == [PAGE_CSP]
                assert headers["referrer-policy"] == "no-referrer"
                assert headers["x-content-type-options"] == "nosniff"
                assert headers["x-frame-options"] == "DENY"
                assert headers["content-type"] == "text/html; charset=utf-8"
                assert headers["content-language"] == "zh-CN"
                assert len(page.content) < MAX_PAGE
                code = site.code(kind, seq)
                assert code not in page.text and code.lower() not in page.text
        gs1 = http.get(site.path("gs1", 20))
        assert "Cream 30 g" in gs1.text and "CREAM-30" in gs1.text and "L3" in gs1.text
        assert "2026年11月20日" in gs1.text
        # the GS1 form needs its c parameter; a tracking parameter is ignored
        assert http.get(site.path("gs1", 21) + "&from=singlemessage").status_code == 200
        problem(http.get(site.path("gs1", 22).split("?")[0]), 404, "not_found")
        # paths no template makes are the API's 404; a POST to a label's URL is the
        # earning form's (issue 19): refused without its CSRF token
        problem(http.get("/X/" + site.code("shop", 30)), 404, "not_found")
        forged = http.post(site.path("shop", 31), json={})
        assert forged.status_code == 403 and "页面已过期" in forged.text
        # the brand
        assert BRAND in gs1.text and PHONE_LINE in gs1.text
        css_path = re.search(r'href="(/assets/site\.[0-9a-f]+\.css)"', gs1.text)
        logo_path = re.search(r'src="(/assets/logo\.[0-9a-f]+)"', gs1.text)
        assert css_path and logo_path
        css = http.get(css_path.group(1))
        assert COLOR in css.text and css.headers["content-type"].startswith("text/css")
        assert "immutable" in css.headers["cache-control"]
        assert http.get(logo_path.group(1)).content == LOGO
        # English by Accept-Language
        english = http.get(site.path("shop", 40), headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert _title(english) == "Genuine" and english.headers["content-language"] == "en"
        assert '<html lang="en">' in english.text
    # the access log names the template, never the code
    records = [r for r in site.server.records() if r.get("logger") == "loyalcode.access"]
    routes = {r["route"] for r in records}
    assert {"/C/{code}", "/Verify/{serial}/{code}", "/01/{gtin}/21/{serial}?c={code}"} <= routes
    log = site.server.log().lower()
    for code in site.shop.used:
        assert code.lower() not in log


def test_each_verdict_and_refusal_page(site: Site) -> None:
    redeemer = Redeemer(site.shop.ctx)
    try:
        redeemer.redeem(site.code("shop", 2), phone=PHONE)
    finally:
        redeemer.close()
    stray = encode(site.shop.keyring, site.shop.serial_start + 90_000)  # in no batch
    expected = {
        site.path("shop", 1): (200, "正品", "可获得 10 积分"),
        site.path("shop", 2): (200, "此码已被使用", "兑换积分"),
        site.path("shop", 600): (200, "正品，尚未激活", "尚未激活销售"),
        site.path("not_yet_valid"): (200, "正品，尚未开始积分", "起可以积分"),
        site.path("expired"): (200, "正品，积分已截止", "积分期限已于"),
        site.path("batch_void"): (200, "正品，批次已撤回", "撤回"),
        "/C/" + _forged(site.code("shop", 3)): (422, "非正品验证码", "谨防假冒"),
        "/C/" + _typo(site.code("shop", 4)): (422, "验证码有误", "输入错误"),
        "/C/" + stray: (422, "查无此码", "不在我们的记录中"),
        "/C/NOT-A-CODE": (422, "无法识别的验证码", "16 位"),
    }
    pages = {}
    with site.server.client() as http:
        first = http.get(site.path("shop", 2))  # a first query of the redeemed code
        assert "这是此码的首次查询" in first.text
        for path, (status, title, words) in expected.items():
            page = pages[path] = http.get(path)
            assert (page.status_code, _title(page)) == (status, title), path
            assert words in page.text, path
            echoed = path.rsplit("/", 1)[1]
            assert echoed not in page.text and echoed.lower() not in page.text
        # the clone warning shows when the code was redeemed; queries are counted
        assert "此码已被查询 2 次" in pages[site.path("shop", 2)].text
        # the throttle: 4 refusals from this address (4 allowed), then any code
        throttled = http.get(site.path("shop", 5))
        assert (throttled.status_code, _title(throttled)) == (429, "尝试次数过多")
        assert 1 <= int(throttled.headers["retry-after"]) <= 600
        english = http.get(site.path("shop", 5), headers={"Accept-Language": "en"})
        assert _title(english) == "Too many attempts"
        # another client address behind a trusted proxy is another bucket: not
        # trusted here (no [service] trusted_proxies), so the header changes nothing
        spoofed = http.get(site.path("shop", 5), headers={"X-Forwarded-For": "203.0.113.9"})
        assert spoofed.status_code == 429


def test_a_get_never_redeems(site: Site) -> None:
    before = site.shop.snapshot()
    with site.server.client() as http:
        for _ in range(5):
            assert http.get(site.path("shop", 7)).status_code == 200
            assert http.head(site.path("shop", 7)).status_code == 200
        last = http.get(site.path("shop", 7))
    assert site.shop.snapshot() == before
    assert "此码已被查询 11 次" in last.text
    # the code can still be redeemed by its first scan
    redeemer = Redeemer(site.shop.ctx)
    try:
        assert redeemer.redeem(site.code("shop", 7), phone=PHONE).points == 10
    finally:
        redeemer.close()


def test_manual_entry_typo_csrf_and_verdict(site: Site) -> None:
    with site.server.client() as http:
        form = http.get("/verify")
        assert form.status_code == 200 and _title(form) == "手动输入验证码"
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token and http.cookies.get("lc_csrf") == token.group(1)
        assert "samesite=strict" in form.headers["set-cookie"].lower()
        csrf = token.group(1)
        code = site.code("shop", 8)
        typo = _typo(code)
        shown = f"{typo[:4]}-{typo[4:8]} {typo[8:12]}-{typo[12:]}".lower()
        wrong = http.post("/verify", data={"csrf": csrf, "code": shown})
        assert wrong.status_code == 422
        assert "输入错误" in wrong.text and 'class="error-summary"' in wrong.text
        assert typo not in wrong.text.upper() and shown not in wrong.text
        empty = http.post("/verify", data={"csrf": csrf, "code": "  "})
        assert empty.status_code == 422 and "请输入验证码" in empty.text
        right = http.post("/verify", data={"csrf": csrf, "code": code.lower()})
        assert (right.status_code, _title(right)) == (200, "正品")
        # no token, a wrong one, another site: refused before any verdict
        for data, headers in [({"code": code}, {}),
                              ({"code": code, "csrf": "x" * 43}, {}),
                              ({"code": code, "csrf": csrf}, {"Sec-Fetch-Site": "cross-site"}),
                              ({"code": code, "csrf": csrf}, {"Origin": "https://evil.example"})]:
            refused = http.post("/verify", data=data, headers=headers)
            assert (refused.status_code, _title(refused)) == (403, "页面已过期")
        # a form body is for pages: the API still takes JSON only
        problem(http.post("/v1/redemptions", data={"scan": code}), 415, "unsupported_media_type")
    assert "此码已被查询" not in right.text  # first query of that code
    assert code.lower() not in site.server.log().lower()


def test_database_unavailable_page(site: Site) -> None:
    """A real outage: SQLite locked past the service's busy timeout."""
    path = site.shop.ctx.engine.url.database
    assert path
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        held.set()
        release.wait(60)
        conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(30)
        with site.server.client() as http:
            started = time.monotonic()
            page = http.get(site.path("shop", 9))
            waited = time.monotonic() - started
    finally:
        release.set()
        thread.join()
    assert (page.status_code, _title(page)) == (503, "服务暂时不可用"), waited
    assert "Traceback" not in page.text and path not in page.text


def test_uvicorn_logs_no_request_line(site: Site) -> None:
    """uvicorn's own access log is off: nothing but the service's JSON lines name a request."""
    with site.server.client() as http:
        http.get(site.path("shop", 10))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(
            r.get("logger") == "loyalcode.access" for r in site.server.records()):
        time.sleep(0.05)
    lines: list[Any] = site.server.lines
    assert not [line for line in lines if '"GET ' in line or "HTTP/1.1" in line]
