"""``[sms]`` and the privacy notice in ``[site]``: what the README shows is taken, a
bad table is a configuration error."""

from __future__ import annotations

import pytest


def test_the_readme_configuration_is_what_the_settings_take() -> None:
    import tomllib

    from loyalcode.loyalty.sms import SmsSettings
    from loyalcode.service.pages.site import SiteSettings
    from tests.readme import readme_section

    section = readme_section("The consumer pages (what a label opens)")
    block = section.split("**Earning on the page.**", 1)[1].split("```toml\n", 1)[1]
    parsed = tomllib.loads(block.split("\n```", 1)[0])
    site = SiteSettings(**parsed["site"])
    assert site.privacy_version == "2026-12" and "Erase" in (site.privacy_notice or "")
    assert SmsSettings(**parsed["sms"]).backend == "file"


@pytest.mark.parametrize("sms", [{"backend": "pigeon"}, {"backend": "file"},
                                 {"backend": "webhook", "url": "ftp://x"}, {"backend": 5}])
def test_a_bad_sms_table_is_a_config_error(sms: dict[str, str]) -> None:
    from loyalcode.errors import ConfigError
    from loyalcode.loyalty.sms import SmsSettings

    with pytest.raises(ConfigError):
        SmsSettings(**sms)  # type: ignore[arg-type]
