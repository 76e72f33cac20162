"""The loyalty programme: members and identities (:mod:`~loyalcode.loyalty.members`), the
points ledger and lots (:mod:`~loyalcode.loyalty.points`), tiers, profiles, the gift mall,
expiry, moments of truth, and what a merge of two members does to all of it."""
