"""Pieces of the pages without a server: catalogues, language negotiation, payload
forms of every template the batches accept, the site settings."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalcode.codegen.payload import PayloadTemplate
from loyalcode.errors import ConfigError
from loyalcode.service.pages.i18n import LANGUAGES, catalogue, negotiate
from loyalcode.service.pages.payloads import PayloadForms
from loyalcode.service.pages.site import SiteSettings
from loyalcode.store.config import Config

CODE = "7KX49QPM2HDF8W3T"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_every_message_with_the_same_placeholders() -> None:
    zh, en = (catalogue(lang) for lang in LANGUAGES)
    assert set(zh) == set(en)
    for key in zh:
        if key in ("date", "datetime"):  # formats: each language picks its fields
            known = {"year", "month", "day", "month_name", "hour", "minute"}
            assert _fields(zh[key]) <= known and _fields(en[key]) <= known
            continue
        assert _fields(zh[key]) == _fields(en[key]), key


@pytest.mark.parametrize(("header", "lang"), [
    ("en", "en"), ("en-US,en;q=0.9", "en"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
    ("fr-FR,en;q=0.5", "en"), ("fr-FR", "zh-CN"), ("", "zh-CN"), (None, "zh-CN"),
    ("en;q=0.2,zh;q=0.9", "zh-CN"), ("zh-TW", "zh-CN"), ("en;q=abc", "zh-CN"),
])
def test_negotiate(header: str | None, lang: str) -> None:
    assert negotiate(header) == lang


_SEGMENT = st.text(alphabet="abcXYZ019-_.", min_size=1, max_size=8)


@st.composite
def templates(draw: st.DrawFn) -> str:
    """URL templates the batches accept: {code} as the last path segment or in c=."""
    host = draw(st.sampled_from(["HTTPS://LC.EXAMPLE.COM", "https://q.brand.cn", "http://x"]))
    segments = draw(st.lists(st.one_of(_SEGMENT, st.sampled_from(["{serial}", "{gtin}",
                                                                   "{batch}"])), max_size=3))
    path = "/".join(segments)
    if draw(st.booleans()):
        return f"{host}/{path}/{{code}}" if path else f"{host}/{{code}}"
    extra = draw(st.sampled_from(["", "&s={serial}", "&src=label"]))
    return f"{host}/{path}?c={{code}}{extra}"


@given(templates(), st.booleans(), st.booleans())
def test_every_accepted_template_routes_its_payloads(template: str, lower: bool,
                                                     slash: bool) -> None:
    PayloadTemplate.parse(template, gtin="09501101020917")
    payload = PayloadTemplate.parse(template, gtin="09501101020917").render(
        code=CODE, serial="Q7MX3K", gtin="09501101020917", batch=12)
    if lower:
        payload = payload.lower()
    rest = "/" + payload.split("://", 1)[1].partition("/")[2]
    path, _, query = rest.partition("?")
    if slash and not path.endswith("/"):
        path += "/"
    found = PayloadForms.build([template]).match(path, query.encode())
    assert found is not None, (template, path, query)
    assert found[1] == (CODE.lower() if lower else CODE)
    assert "{code}" in found[0] and CODE not in found[0]


def test_paths_of_no_template_do_not_match() -> None:
    forms = PayloadForms.build(["HTTPS://LC.EXAMPLE.COM/C/{code}",
                                "https://lc.example.com/01/{gtin}/21/{serial}?c={code}",
                                "{code}", "HTTPS://LC.EXAMPLE.COM/{code}"])
    assert forms.match("/C/X/Y", b"") is None
    assert forms.match("/C/", b"") is None
    assert forms.match("/01/123/21/AB", b"c=" + CODE.encode()) is None  # not 14 digits
    assert forms.match("/01/09501101020917/21/AB", b"d=x") is None
    assert forms.match("/" + CODE, b"") == ("/{code}", CODE)
    assert forms.match("/C/" + CODE, b"") == ("/C/{code}", CODE)  # the specific form first


def test_site_settings(tmp_path: Path) -> None:
    (tmp_path / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    config = Config(path=tmp_path / "loyalcode.toml", data={"site": {
        "brand_name": "润肤坊", "logo": "logo.svg", "primary_color": "#abc",
        "support_phone": "+86 400-800-1234"}})
    site = SiteSettings.from_config(config)
    assert site.logo_file() == ((tmp_path / "logo.svg").read_bytes(), "image/svg+xml")
    for bad in ({"primary_color": "red"}, {"primary_color": "#12345g"},
                {"support_phone": "call us"}, {"logo": "logo.gif"}, {"brand_name": ""},
                {"colour": "#fff"}):
        with pytest.raises(ConfigError) as caught:
            SiteSettings.from_config(Config(path=config.path, data={"site": bad}))
        assert re.search(r"site|\[site\]", caught.value.message)
    (tmp_path / "big.png").write_bytes(b"\0" * 50_000)
    with pytest.raises(ConfigError):
        SiteSettings(logo=str(tmp_path / "big.png")).logo_file()
