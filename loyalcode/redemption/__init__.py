"""The scan: :class:`Redeemer` checks a code, attributes its channel and credits the
member exactly once; its result, its refusals (:mod:`loyalcode.redemption.errors`), the
PostgreSQL fast path and the throttle.

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
    "EventRef": "loyalcode.events.outbox",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = ["EventRef", "Redeemer", "RedemptionResult", "RedemptionSettings"]
