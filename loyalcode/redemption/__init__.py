"""Redemption: activation, members, scans, channel attribution, the points ledger and
the events outbox. The CRM's entry point is :class:`loyalcode.redemption.Redeemer`."""
