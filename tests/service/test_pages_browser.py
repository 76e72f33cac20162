"""The consumer pages in a real browser: the distribution's Chromium (Playwright with
``executable_path``) at 360x640 against the real server; axe-core (npm, installed by
.ci/system-packages) finds no serious or critical violation on any page.

``LOYALCODE_SCREENSHOTS=docs/pages`` saves the verdict pages as PNGs (the README's).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loyalcode.codegen.codec import encode
from loyalcode.redemption import Redeemer
from tests.service.pages_support import COLOR, Site
from tests.service.test_pages import _forged, _typo
from tests.shop import PHONE

CHROMIUM = os.environ.get("LOYALCODE_CHROMIUM", "/usr/bin/chromium")
AXE = Path(os.environ.get("LOYALCODE_AXE", "/opt/loyalcode-axe/node_modules/axe-core/axe.min.js"))
VIEWPORT = {"width": 360, "height": 640}

if not (Path(CHROMIUM).exists() and AXE.exists()):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} or {AXE} is missing: run .ci/system-packages")
    pytest.skip("no Chromium or axe-core here (.ci/system-packages installs them)",
                allow_module_level=True)

pytestmark = pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM,
                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


class Phone:
    """One browser context at 360x640: a page, the CSP violations it reported, axe."""

    def __init__(self, browser: Any, base: str) -> None:
        # bypass_csp only so that axe can be injected; the CSP itself is checked by
        # the pages' own stylesheet loading and by the violations reported below
        self.context = browser.new_context(viewport=VIEWPORT, base_url=base, bypass_csp=False,
                                           locale="zh-CN")
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(m.text))

    def open(self, path: str) -> Any:
        response = self.page.goto(path)
        assert response is not None
        return response

    def heading(self) -> str:
        return str(self.page.inner_text("h1"))

    def check_layout(self) -> None:
        """Styled by our stylesheet (the CSP let it load), nothing wider than the
        phone, no CSP violation reported."""
        color = self.page.eval_on_selector(
            "header.brand", "e => getComputedStyle(e).backgroundColor")
        r, g, b = (int(COLOR[i:i + 2], 16) for i in (1, 3, 5))
        assert color == f"rgb({r}, {g}, {b})"
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORT["width"]
        assert not [m for m in self.console if "Content Security Policy" in m]

    def close(self) -> None:
        self.context.close()


def axe_violations(browser: Any, base: str, path: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations of the page at ``path`` (injected in a
    context that bypasses the CSP: the page itself allows no script)."""
    context = browser.new_context(viewport=VIEWPORT, base_url=base, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(path)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document)")
    finally:
        context.close()
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"]]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def _shoot(phone: Phone, name: str) -> None:
    target = os.environ.get("LOYALCODE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        phone.page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)


def test_each_verdict_in_the_browser_with_axe(site: Site, browser: Any) -> None:
    redeemer = Redeemer(site.shop.ctx)
    try:
        redeemer.redeem(site.code("shop", 2), phone=PHONE)
    finally:
        redeemer.close()
    stray = encode(site.shop.keyring, site.shop.serial_start + 90_000)
    pages = [  # (screenshot, path, status, heading)
        ("genuine", site.path("gs1", 1), 200, "正品"),
        ("already-redeemed", site.path("shop", 2), 200, "此码已被使用"),
        ("not-activated", site.path("shop", 600), 200, "正品，尚未激活"),
        ("not-yet-valid", site.path("not_yet_valid"), 200, "正品，尚未开始积分"),
        ("expired", site.path("expired"), 200, "正品，积分已截止"),
        ("withdrawn", site.path("batch_void"), 200, "正品，批次已撤回"),
        ("forged", "/C/" + _forged(site.code("shop", 3)), 422, "非正品验证码"),
        ("unknown", "/C/" + stray, 422, "查无此码"),
        ("entry", "/verify", 200, "手动输入验证码"),
    ]
    phone = Phone(browser, site.server.url)
    try:
        for name, path, status, heading in pages:
            assert phone.open(path).status == status, path
            assert phone.heading() == heading, path
            phone.check_layout()
            _shoot(phone, name)
            assert axe_violations(browser, site.server.url, path) == [], path
        # the throttle page: the failures above (forged, unknown) plus two more
        for _ in range(2):
            phone.open("/C/" + _forged(site.code("shop", 4)))
        throttled = phone.open(site.path("shop", 5))
        assert (throttled.status, phone.heading()) == (429, "尝试次数过多")
        phone.check_layout()
        _shoot(phone, "throttled")
        assert axe_violations(browser, site.server.url, site.path("shop", 5)) == []
    finally:
        phone.close()


def test_each_payload_form_in_the_browser(site: Site, browser: Any) -> None:
    phone = Phone(browser, site.server.url)
    try:
        seq = 10
        for kind in ("shop", "custom", "gs1"):
            path = site.path(kind, seq)
            lower = site.path(kind, seq + 1).lower()
            slashed = site.path(kind, seq + 2).partition("?")
            for variant in (path, lower, slashed[0] + "/" + (("?" + slashed[2]) if slashed[2] else "")):
                assert phone.open(variant).status == 200, variant
                assert phone.heading() == "正品", variant
            seq += 3
        english = browser.new_context(viewport=VIEWPORT, base_url=site.server.url, locale="en-US")
        try:
            page = english.new_page()
            page.goto(site.path("custom", 30))
            assert page.inner_text("h1") == "Genuine"
            assert "Toner 100 ml" in page.inner_text("main")
            target = os.environ.get("LOYALCODE_SCREENSHOTS")
            if target:
                page.screenshot(path=str(Path(target) / "genuine-en.png"), full_page=True)
        finally:
            english.close()
    finally:
        phone.close()


def test_manual_entry_with_a_typo_then_the_code(site: Site, browser: Any) -> None:
    phone = Phone(browser, site.server.url)
    try:
        phone.open("/verify")
        code = site.code("shop", 20)
        phone.page.fill("#code", _typo(code).lower())
        phone.page.click("button[type=submit]")
        assert phone.page.inner_text(".error-summary h2") == "请更正以下问题"
        assert "输入错误" in phone.page.inner_text("#code-error")
        assert phone.page.input_value("#code") == ""  # what was typed is not echoed
        phone.check_layout()
        _shoot(phone, "entry-typo")
        # the error summary links to the field
        phone.page.click(".error-summary a")
        assert phone.page.evaluate("document.activeElement.id") == "code" or \
            phone.page.url.endswith("#code")
        phone.page.fill("#code", f"{code[:4]}-{code[4:8]}-{code[8:12]}-{code[12:]}")
        phone.page.click("button[type=submit]")
        assert phone.heading() == "正品"
    finally:
        phone.close()
    # axe on the form with its error (a fresh context: posts the typo again)
    context = browser.new_context(viewport=VIEWPORT, base_url=site.server.url, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto("/verify")
        page.fill("#code", _typo(site.code("shop", 21)))
        page.click("button[type=submit]")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document)")
        assert [v["id"] for v in result["violations"]
                if v["impact"] in ("serious", "critical")] == []
    finally:
        context.close()


def test_opening_a_label_in_the_browser_never_redeems(site: Site, browser: Any) -> None:
    before = site.shop.snapshot()
    phone = Phone(browser, site.server.url)
    try:
        for _ in range(3):
            phone.open(site.path("shop", 40))
            phone.page.reload()
        # the one form is the tap that earns: a POST to the label's own URL (never sent
        # by opening the page; the code is not in the page)
        actions = phone.page.eval_on_selector_all("form", "fs => fs.map(f => f.action)")
        assert actions == [phone.page.url]
        assert "此码已被查询 6 次" in phone.page.inner_text("main")
    finally:
        phone.close()
    assert site.shop.snapshot() == before

