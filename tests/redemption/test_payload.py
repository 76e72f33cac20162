"""The hot path writes the points_earned payload without json.dumps: same text."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from loyalcode.redemption.redeem import earned_payload

ints = st.integers(min_value=0, max_value=2**53)
names = st.text(max_size=40)  # any text: quotes, backslashes, controls, CJK, emoji


@given(ints, st.none() | names, ints, ints, names, ints, st.none() | names, st.none() | names, ints)
def test_earned_payload_is_json_dumps(member, phone, serial, batch, sku, points, channel, tier,
                                      balance) -> None:
    """With a phone (``[events] include_phone``) and without (then no ``phone`` key)."""
    facts = {"member": member, **({} if phone is None else {"phone": phone}), "serial": serial,
             "batch": batch, "sku": sku, "points": points, "channel": channel, "tier": tier,
             "balance": balance}
    text = earned_payload(member, phone, serial, batch, sku, points, channel, tier, balance)
    assert text == json.dumps(facts, ensure_ascii=False)
    assert json.loads(text) == facts
