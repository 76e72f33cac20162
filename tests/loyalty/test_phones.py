"""Member phones: mobile numbers of the allowed countries only, checked by
libphonenumber; letters and extensions refused, over the library and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from loyalcode.errors import ConfigError
from loyalcode.loyalty.errors import InvalidPhone
from loyalcode.loyalty.phones import PhonePolicy, normalize_phone
from loyalcode.store.config import Config
from tests.conftest import Cli

REFUSED = {
    "138OO138OOO": "letters are not accepted",  # libphonenumber: +8613866138666
    "1380013800O": "letters are not accepted",
    "138 0013 8000 x12": "letters are not accepted",
    "138 0013 8000 ext. 12": "letters are not accepted",
    "13800138000#12": "extensions are not accepted",
    "13800138000,12": "extensions are not accepted",
    "010 8888 8888": "not a mobile number",  # a Beijing landline
    "400 812 3123": "not a mobile number",  # a 400 service number
    "800 810 8888": "not a mobile number",
    "+1 800 555 0100": "not a number of CN",  # US toll-free
    "+1 650 253 0000": "not a number of CN",
    "+852 6123 4567": "not a number of CN",  # a Hong Kong mobile
    "+86 000 0000 0000": "not a valid number",
    "12345": "not a valid number",
}


@pytest.mark.parametrize(("raw", "reason"), REFUSED.items())
def test_refused_by_default(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhone) as err:
        normalize_phone(raw)
    assert err.value.code == "invalid_phone"
    assert err.value.message == f"Not a valid phone number: {reason}."
    assert raw not in err.value.message


@pytest.mark.parametrize("raw", ["13800138000", "+86 138 0013 8000", "(+86)138-0013-8000",
                                 "８６１３８００１３８０００", "199 0000 0000"])
def test_mainland_mobiles_accepted(raw: str) -> None:
    assert normalize_phone(raw).startswith("+86")


def test_policy_widens_types_and_countries() -> None:
    both = PhonePolicy(types=("mobile", "fixed_line"), regions=("CN", "HK"))
    assert normalize_phone("010 8888 8888", both) == "+861088888888"
    assert normalize_phone("+852 6123 4567", both) == "+85261234567"
    with pytest.raises(InvalidPhone, match="not a mobile or fixed line number"):
        normalize_phone("400 812 3123", both)
    us = PhonePolicy(regions=("US",))  # the first region is the default country
    assert normalize_phone("(650) 253-0000", us) == "+16502530000"
    with pytest.raises(InvalidPhone, match="not a mobile number"):
        normalize_phone("800 555 0100", us)
    with pytest.raises(InvalidPhone, match="letters"):
        normalize_phone("1-800-FLOWERS", PhonePolicy(types=("toll_free",), regions=("US",)))


def test_policy_from_config(tmp_path: Path) -> None:
    config = Config(tmp_path / "x.toml", {"members": {"phone_types": ["mobile"],
                                                       "phone_regions": ["cn", "hk"]}})
    assert PhonePolicy.from_config(config) == PhonePolicy(regions=("CN", "HK"))
    assert PhonePolicy.from_config(Config(tmp_path / "x.toml", {})) == PhonePolicy()
    for bad in ({"phone_types": ["cell"]}, {"phone_regions": ["XX"]}, {"phone_regions": "CN"},
                {"phone_types": []}, {"phones": 1}):
        with pytest.raises(ConfigError):
            PhonePolicy.from_config(Config(tmp_path / "x.toml", {"members": bad}))


def test_refused_over_redeem_and_cli(shop, redeemer, db_url: str) -> None:
    """The scan and every CLI face refuse the same numbers, with nothing written."""
    before = shop.snapshot()
    for raw in ("138OO138OOO", "13800138000#12", "010 8888 8888", "+1 650 253 0000"):
        with pytest.raises(InvalidPhone):
            redeemer.redeem(shop.code(1), phone=raw)
    assert shop.snapshot() == before
    cli = Cli(db_url)
    for args in (["redeem", shop.code(1), "--phone", "138OO138OOO", "--json"],
                 ["member", "bind", "--phone", "4008123123", "--json"],
                 ["member", "show", "--phone", "13800138000#1", "--json"]):
        r = cli(*args)
        assert r.exit_code != 0 and r.stderr.startswith("error [invalid_phone]"), (args, r.stderr)
        assert r.json()["error"]["code"] == "invalid_phone"
        assert "138OO" not in r.stderr + r.stdout
    assert shop.snapshot() == before


def test_config_reaches_the_redeemer(shop, db_url: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from loyalcode.redemption import Redeemer

    config = tmp_path / "phones.toml"
    config.write_text('[members]\nphone_regions = ["CN", "HK"]\n', encoding="utf-8")
    monkeypatch.setenv("LOYALCODE_CONFIG", str(config))
    with Redeemer(db_url) as redeemer:
        assert redeemer.redeem(shop.code(2), phone="+852 6123 4567").points == 10
    r = Cli(db_url)("member", "show", "--phone", "+852 6123 4567", "--json")
    assert r.exit_code == 0 and r.json()["phone"] == "+85261234567"
