"""SQL fragments over the member tables, for the scan's one-statement paths.

Public so that :mod:`loyalcode.redemption` composes them into its own statements (one
round trip per scan) rather than calling per-row functions.
"""

from __future__ import annotations

#: The member an openid names (NULL: none).
OPENID_MEMBER = (
    "(SELECT i.member_id FROM member_identities i "
    " WHERE i.kind = 'openid' AND i.value = :openid) AS openid_member"
)


#: The member the scan's phone names (``pm``, no row: none), joined once so that every
#: column of it (id, balance, tier) costs one index probe in all.
PHONE_MEMBER_JOIN = " LEFT JOIN members pm ON pm.phone = CAST(:phone AS text)"
