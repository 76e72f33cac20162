"""Every loyalty error code is stable, and each is raised by some test of this suite."""

from __future__ import annotations

from pathlib import Path

from loyalcode.loyalty.errors import loyalty_error_codes

CODES = [
    "phone_required", "profile_incomplete", "insufficient_points", "out_of_stock",
    "limit_reached", "gift_not_found", "gift_exists", "gift_inactive", "order_not_found",
    "already_cancelled", "invalid_profile",
]


def test_codes_are_stable_and_covered() -> None:
    assert sorted(loyalty_error_codes()) == sorted(CODES)
    suite = "".join(p.read_text(encoding="utf-8") for p in Path(__file__).parent.glob("test_*.py")
                    if p.name != Path(__file__).name)
    for code in CODES:
        assert f'"{code}' in suite or f"[{code}]" in suite, code


def test_messages_come_from_templates() -> None:
    from loyalcode.loyalty.errors import InsufficientPoints, LimitReached

    assert InsufficientPoints(needed=60, balance=10).message == "Not enough points: 60 needed, 10 available."
    err = LimitReached(gift="MUG", limit=2)
    assert err.to_dict() == {"code": "limit_reached", "message": "Gift 'MUG' is limited to 2 per member.",
                             "gift": "MUG", "limit": 2}
