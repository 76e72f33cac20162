"""SQL shared by the redemption hot paths (``redeem.py``, ``fastpath.py``, ``tiers.py``).

Statements are written once with ``:name`` parameters; :func:`render` turns them into
what the driver wants (sqlite3 takes ``:name``, psycopg wants ``%(name)s``), once per
statement, not per call.
"""

from __future__ import annotations

import re

_PARAM = re.compile(r"(?<![:\w]):(\w+)")


def render(sql: str, pg: bool) -> str:
    """``sql`` in the parameter style of the database's driver."""
    return _PARAM.sub(r"%(\1)s", sql) if pg else sql


#: The member an openid names (NULL: none).
OPENID_MEMBER = (
    "(SELECT i.member_id FROM member_identities i "
    " WHERE i.kind = 'openid' AND i.value = :openid) AS openid_member"
)

#: What the state checks read of the code: its batch, the newest activation covering
#: the serial, and that activation's channel.
BATCH_COLUMNS = (
    "b.id AS batch_id, b.serial_end, b.sku, b.points, b.status, b.redeem_from, "
    "b.redeem_until, a.channel_id, c.code AS channel_code, c.region AS channel_region"
)

def code_joins(serial: str) -> str:
    """For the serial ``serial`` (a parameter, or a column of a row source): the batch
    whose range starts at or below it (``b``, one index probe; the caller compares
    ``b.serial_end``), the activation span that starts at or below it (``a``, one more:
    spans are disjoint, so it is the only one that can cover the serial) if it reaches
    the serial, and its channel (``c``): the newest activation's, however many the
    batch had."""
    return (
        "LEFT JOIN batches b ON b.id = (SELECT b2.id FROM batches b2 "
        f"WHERE b2.serial_start <= {serial} ORDER BY b2.serial_start DESC LIMIT 1) "
        "LEFT JOIN activation_spans a ON a.id = (SELECT a2.id FROM activation_spans a2 "
        f"WHERE a2.serial_start <= {serial} ORDER BY a2.serial_start DESC LIMIT 1) "
        f"AND a.serial_end > {serial} AND a.batch_id = b.id "
        "LEFT JOIN channels c ON c.id = a.channel_id"
    )


#: One row whatever is found (``x``), with :func:`code_joins` of the ``:serial``.
BATCH_FROM = "FROM (SELECT 1 AS one) AS x " + code_joins(":serial")

#: The member the scan's phone names (``pm``, no row: none), joined once so that every
#: column of it (id, balance, tier) costs one index probe in all.
PHONE_MEMBER_JOIN = " LEFT JOIN members pm ON pm.phone = CAST(:phone AS text)"
