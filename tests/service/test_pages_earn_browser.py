"""Earning on the page in a real browser (Chromium at 360x640, as the verdict pages):
scan → genuine → consent → phone → the SMS code (read from the file backend) → tap →
points; the next scan earns with one tap; five wrong codes lock; axe on every page."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from loyalcode.loyalty.points import add_months
from loyalcode.redemption import Redeemer
from tests.service.pages_support import CONFIG, Site, make_site
from tests.service.test_pages_browser import (  # noqa: F401
    AXE,
    CHROMIUM,
    Phone,
    _shoot,
    pytestmark,
)
from tests.shop import OTHER_PHONE, PHONE, PHONE_E164, Shop

ZONE = ZoneInfo("Asia/Shanghai")  # the default business zone
EARN_CONFIG = CONFIG + """
[sms]
backend = "file"
file = "sms.jsonl"
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM,
                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def earn_site(db_url: str, shop: Shop, tmp_path: Path) -> Iterator[Site]:
    s = make_site(shop, db_url, tmp_path, config=EARN_CONFIG)
    yield s
    s.server.stop()


def sms_codes(tmp_path: Path) -> list[dict[str, str]]:
    path = tmp_path / "sms.jsonl"
    if not path.exists():
        return []
    assert path.stat().st_mode & 0o777 == 0o600
    return [json.loads(line) for line in path.read_text().splitlines()]


def axe(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    return [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]


def sign_in_and_earn(phone: Phone, site: Site, tmp_path: Path, seq: int,
                     check: Any = None) -> str:
    """Scan, consent, phone, code, tap; returns the result's text. ``check`` runs on
    each page (and each is saved when LOYALCODE_SCREENSHOTS is set)."""
    inner = check or (lambda: None)
    names = iter(["earn-genuine", "earn-consent", "earn-phone", "earn-code", "earn-verified",
                  "earn-credited"])

    def check() -> None:
        inner()
        if isinstance(phone, Phone):
            _shoot(phone, next(names))

    page = phone.page
    assert phone.open(site.path("shop", seq)).status == 200
    assert phone.heading() == "正品"
    check()
    page.click("form.step-earn button")
    assert phone.heading() == "隐私说明"
    assert "删除" in page.inner_text("main")  # how to erase is said
    check()
    page.click("form.step-consent button")
    assert phone.heading() == "您的手机号"
    check()
    page.fill("#phone", PHONE)
    page.click("form.step-phone button")
    assert phone.heading() == "输入短信验证码"
    check()
    sent = sms_codes(tmp_path)[-1]
    assert sent["phone"] == PHONE_E164 and len(sent["code"]) == 6
    page.fill("#otp", sent["code"])
    page.click("form.step-code button")
    assert phone.heading() == "手机号已确认"
    check()
    page.click("form.step-earn button")
    assert phone.heading() == "积分已到账"
    check()
    return str(page.inner_text("main"))


def test_scan_consent_phone_code_tap_then_one_tap_next_time(
        earn_site: Site, browser: Any, tmp_path: Path) -> None:
    site = earn_site
    phone = Phone(browser, site.server.url)
    try:
        shown = sign_in_and_earn(phone, site, tmp_path, 1, check=phone.check_layout)
        assert "已到账 10 积分，当前余额 10 积分" in shown
        assert len(sms_codes(tmp_path)) == 1
        # the session cookie: random, Secure, HttpOnly, SameSite=Lax, 30 days
        cookie = next(c for c in phone.context.cookies() if c["name"] == "lc_session")
        assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "Lax")
        # the next scan: one tap, no SMS
        phone.open(site.path("shop", 2))
        phone.page.click("form.step-earn button")
        assert phone.heading() == "积分已到账"
        assert "当前余额 20 积分" in phone.page.inner_text("main")
        assert len(sms_codes(tmp_path)) == 1
        # a code someone else redeems while the page is open: the refusal in plain words
        phone.open(site.path("shop", 4))
        redeemer = Redeemer(site.shop.ctx)
        try:
            redeemer.redeem(site.code("shop", 4), phone=OTHER_PHONE)
        finally:
            redeemer.close()
        phone.page.click("form.step-earn button")
        assert phone.heading() == "未能领取积分"
        assert "此码已被使用" in phone.page.inner_text("main")
        phone.check_layout()
        # the member page, then log out: the next scan asks for consent again
        phone.open("/me")
        assert phone.heading() == "我的积分"
        member_page = phone.page.inner_text("main")
        assert "余额：20 积分" in member_page and "会员等级" in member_page
        expires = add_months(dt.datetime.now(ZONE).date(), 12)
        assert f"{expires.year}年{expires.month}月{expires.day}日 到期" in member_page
        _shoot(phone, "member")
        phone.page.click("form[action='/logout'] button")
        assert phone.heading() == "已退出登录"
        phone.open(site.path("shop", 3))
        phone.page.click("form.step-earn button")
        assert phone.heading() == "隐私说明"
        # sign in again (a new SMS code), then erase after confirming
        phone.page.click("form.step-consent button")
        phone.page.fill("#phone", PHONE)
        phone.page.click("form.step-phone button")
        phone.page.fill("#otp", sms_codes(tmp_path)[-1]["code"])
        phone.page.click("form.step-code button")
        phone.open("/me")
        phone.page.click("form.erase button")
        assert phone.heading() == "确定删除您的数据吗？"
        phone.check_layout()
        phone.page.click("form.erase-confirm button")
        assert phone.heading() == "您的数据已删除"
        phone.open("/me")
        assert phone.heading() == "隐私说明"  # logged out
    finally:
        phone.close()
    assert site.shop.count("page_sessions") == 0 and site.shop.count("phone_challenges") == 0
    assert site.shop.snapshot()["balance_total"] == 30  # 20 here, 10 for the other phone
    with site.shop.ctx.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM members WHERE phone = :p"),
                            {"p": PHONE_E164}).scalar_one() == 0
        conn.rollback()
    site.shop.assert_balances_match_ledger()


def test_five_wrong_codes_lock_the_code(earn_site: Site, browser: Any, tmp_path: Path) -> None:
    site = earn_site
    phone = Phone(browser, site.server.url)
    page = phone.page
    try:
        phone.open(site.path("shop", 5))
        page.click("form.step-earn button")
        page.click("form.step-consent button")
        page.fill("#phone", PHONE)
        page.click("form.step-phone button")
        right = sms_codes(tmp_path)[-1]["code"]
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        for left in (4, 3, 2, 1):
            page.fill("#otp", wrong)
            page.click("form.step-code button")
            assert f"还可以尝试 {left} 次" in page.inner_text("#otp-error")
        page.fill("#otp", wrong)
        page.click("form.step-code button")
        assert phone.heading() == "您的手机号"
        assert "错误次数过多" in page.inner_text("#phone-error")
        # the right code is no use now: the page went back to the phone form
        assert page.query_selector("#otp") is None
    finally:
        phone.close()


def test_axe_on_every_earning_page(earn_site: Site, browser: Any, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 640},
                                  base_url=earn_site.server.url, bypass_csp=True,
                                  locale="zh-CN")
    found: list[tuple[str, list[str]]] = []

    class _Axed:
        def __init__(self) -> None:
            self.context = context
            self.page = context.new_page()

        def open(self, path: str) -> Any:
            return self.page.goto(path)

        def heading(self) -> str:
            return str(self.page.inner_text("h1"))

    phone = _Axed()

    def check() -> None:
        found.append((phone.heading(), axe(phone.page)))

    try:
        sign_in_and_earn(phone, earn_site, tmp_path, 7, check=check)  # type: ignore[arg-type]
        phone.open("/me")
        check()
    finally:
        context.close()
    assert [f for f in found if f[1]] == []
    assert len(found) == 7


def test_profile_bonus_then_a_gift_from_the_mall(
        earn_site: Site, browser: Any, tmp_path: Path) -> None:
    from loyalcode.loyalty.gifts import add_gift

    site = earn_site
    with site.shop.ctx.engine.begin() as conn:
        add_gift(conn, sku="MASK-1", name="面膜", points=100, stock=5,
                 now=dt.datetime.now(dt.UTC))
        add_gift(conn, sku="BAG-1", name="手提袋", points=5000, stock=5,
                 now=dt.datetime.now(dt.UTC))
    phone = Phone(browser, site.server.url)
    page = phone.page
    axed: list[tuple[str, list[str]]] = []
    try:
        sign_in_and_earn(phone, site, tmp_path, 9)
        # ordering before the profile is complete: refused, the reason said
        phone.open("/me/mall")
        page.click("form.order:has-text('面膜') button")
        assert "请先完善资料" in page.inner_text("[role=alert]")
        phone.check_layout()
        _shoot(phone, "mall-refused")
        phone.open("/me/profile")
        assert "100 奖励积分" in page.inner_text("main")
        page.fill("#name", "王小明")
        page.select_option("#gender", "female")
        page.fill("#birthday", "1990-05-01")
        page.fill("#city", "广州")
        page.click("form.profile button")
        assert "已到账 100 奖励积分，当前余额 110 积分" in page.inner_text("main")
        phone.check_layout()
        _shoot(phone, "profile")
        phone.open("/me/mall")
        page.click("form.order:has-text('手提袋') button")
        assert "积分还不够" in page.inner_text("[role=alert]")
        page.click("form.order:has-text('面膜') button")
        assert "兑换成功：面膜，100 积分" in page.inner_text("main")
        assert "余额：10 积分" in page.inner_text("main")
        _shoot(phone, "mall")
        page.click("text=查看我的订单")
        assert phone.heading() == "我的订单"
        assert "面膜 × 1" in page.inner_text("main") and "已下单" in page.inner_text("main")
        phone.check_layout()
        _shoot(phone, "orders")
        # axe on the member pages (a context that lets axe in, same cookies)
        cookies = phone.context.cookies()
    finally:
        phone.close()
    context = browser.new_context(viewport={"width": 360, "height": 640},
                                  base_url=site.server.url, bypass_csp=True, locale="zh-CN")
    try:
        context.add_cookies(cookies)
        p = context.new_page()
        for path in ("/me", "/me/profile", "/me/mall", "/me/orders"):
            p.goto(path)
            axed.append((path, axe(p)))
        p.goto("/me")
        p.click("form.erase button")
        axed.append(("erase", axe(p)))
    finally:
        context.close()
    assert [a for a in axed if a[1]] == []
