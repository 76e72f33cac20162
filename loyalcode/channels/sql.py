"""SQL fragments over batches, activation spans and channels: a serial's batch and the
channel it is activated for, in two index probes.

Public so that the scan (:mod:`loyalcode.redemption`) and the customer-service lookup
(:mod:`loyalcode.reports`) compose them into their own statements.
"""

from __future__ import annotations

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
