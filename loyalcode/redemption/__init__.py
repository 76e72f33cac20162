"""Redemption: activation, members, scans, channel attribution, the points ledger and
the events outbox.

The CRM's entry point::

    from loyalcode.redemption import Redeemer
    redeemer = Redeemer("postgresql://crm@db/loyalcode")
    result = redeemer.redeem(scan, phone="13800138000", region="310000")

Heavy modules load on first use, so importing this package stays cheap.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Redeemer": "loyalcode.redemption.redeem",
    "RedemptionResult": "loyalcode.redemption.redeem",
    "RedemptionSettings": "loyalcode.redemption.settings",
    "EventRef": "loyalcode.redemption.events",
    "activate": "loyalcode.redemption.activation",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = sorted(_EXPORTS)
