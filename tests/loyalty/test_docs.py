"""The loyalty section of the README runs as written."""

from __future__ import annotations

import doctest
import json
import re
from pathlib import Path

from tests.readme import README, readme_section

DOC = README
SECTION = "The loyalty programme"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", readme_section(SECTION), flags=re.DOTALL)


def test_example_runs_as_written(db_url, shop) -> None:  # type: ignore[no-untyped-def]
    (example,) = [b for b in _blocks("python") if b.lstrip().startswith(">>>")]
    globs = {"database_url": db_url, "code": shop.code(1)}
    test = doctest.DocTestParser().get_doctest(example, globs, "README.md", str(DOC), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 15


def test_sketch_compiles_and_payload_is_json() -> None:
    for block in _blocks("python"):
        if not block.lstrip().startswith(">>>"):
            compile(block, "README.md", "exec")
    (payload,) = _blocks("json")
    facts = set(json.loads(payload)["payload"])
    # as written by default: the member id, no phone ([events] include_phone)
    assert facts >= {"member", "points", "balance", "tier", "gift"} and "phone" not in facts


def test_settings_block_is_the_valid_configuration(tmp_path: Path) -> None:
    import tomllib

    from loyalcode.loyalty.settings import LoyaltySettings
    from loyalcode.store.config import Config

    (toml,) = _blocks("toml")
    settings = LoyaltySettings.from_config(Config(tmp_path, tomllib.loads(toml)))
    assert [t.name for t in settings.tiers] == ["普卡", "银卡", "金卡", "钻卡"]


def test_every_event_type_and_error_code_is_documented() -> None:
    from loyalcode.loyalty.errors import loyalty_error_codes
    from loyalcode.loyalty.models import LOYALTY_EVENT_TYPES

    text = readme_section(SECTION)
    for name in (*LOYALTY_EVENT_TYPES, *loyalty_error_codes()):
        if name not in ("gift_exists", "dispatch_failed"):
            assert f"`{name}`" in text, name


def test_personal_data_section_settings_and_sketch() -> None:
    """The settings of "Personal data" are the valid configuration they say; its
    erasure sketch compiles."""
    import tomllib

    from loyalcode.events.settings import EventSettings
    from loyalcode.redemption.settings import RedemptionSettings
    from loyalcode.store.config import Config

    text = readme_section("Personal data")
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.DOTALL)
    merged: dict = {}
    for block in blocks:
        merged.update(tomllib.loads("\n".join(line.strip() for line in block.splitlines())))
    config = Config(Path("."), merged)
    assert EventSettings.from_config(config).include_phone is True
    assert RedemptionSettings.from_config(config).keep_source is True
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL):
        compile(block, "README.md", "exec")
    assert "`member_forgotten`" in text
