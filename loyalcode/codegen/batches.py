"""Batches: contiguous serial ranges allocated by the database, O(1) rows each.

Creating a batch of any size writes two rows' worth of work: the counter update that
allocates the range (``UPDATE ... RETURNING`` on the deployment row, so concurrent
creations get disjoint ranges) and the batch row, in one transaction. If it fails or
is interrupted, the transaction rolls back and nothing is left behind, not even a
gap in the serial space.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any, cast

from biip import ParseError as BiipParseError
from biip.gtin import Gtin
from biip.rcn import Rcn
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from loyalcode.codegen.codeformat import MAX_SERIAL
from loyalcode.codegen.errors import (
    BatchAlreadyIssued,
    BatchNotFound,
    BatchVoid,
    ExampleDomain,
    InvalidGtin,
    InvalidPoints,
    InvalidQuantity,
    RangeOutsideBatch,
    SerialSpaceExhausted,
)
from loyalcode.codegen.models import Batch
from loyalcode.codegen.payload import PayloadTemplate
from loyalcode.errors import InvalidDate, InvalidDateRange, InvalidInput, NotInitialized
from loyalcode.store.config import DEFAULT_PAYLOAD_TEMPLATE
from loyalcode.store.models import Deployment
from loyalcode.store.timeutil import from_db, utc

MAX_QUANTITY = 100_000_000
MAX_POINTS = 1_000_000


def _whole_number(value: Any, text: str, maximum: int) -> int | None:
    """``text`` (from ``value``) as an int from 0 to ``maximum``, or ``None`` if it is
    not one (never converting thousands of digits: Python refuses more than 4,300)."""
    if isinstance(value, bool) or not text.isascii() or not text.isdecimal():
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(maximum)):
        return None
    number = int(digits)
    return number if number <= maximum else None


def _shown(value: Any) -> str:
    """User input for a message, cut short if long."""
    text = str(value)
    return text if len(text) <= 24 else f"{text[:20]}… ({len(text)} characters)"


def parse_quantity(value: Any) -> int:
    """A batch quantity from user input, or :class:`InvalidQuantity`."""
    quantity = _whole_number(value, str(value).strip().replace("_", ""), MAX_QUANTITY)
    if quantity is None or quantity < 1:
        raise InvalidQuantity(value=_shown(value), maximum=MAX_QUANTITY)
    return quantity


def parse_points(value: Any) -> int:
    """Points per code from user input, or :class:`InvalidPoints`."""
    points = _whole_number(value, str(value).strip(), MAX_POINTS)
    if points is None:
        raise InvalidPoints(value=_shown(value), maximum=MAX_POINTS)
    return points


def parse_date(value: str | dt.date | None, field: str) -> dt.date | None:
    """A date from ``YYYY-MM-DD``, or :class:`InvalidDate`."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise InvalidDate(value=value, field=field) from None


def normalize_gtin(value: str | None) -> str | None:
    """A GTIN-8/12/13/14 of a trade item with a valid GS1 check digit, as 14 digits.

    biip classifies the number by its GS1 prefix: restricted circulation numbers
    (in-store and variable-measure numbers, prefixes 0 and 2 of GTIN-8, 02, 04 and
    20-29 of GTIN-13) and coupons and refund receipts (99, 980-983) identify no trade
    item and are refused (``invalid_gtin``, saying which).

    >>> normalize_gtin("6901234567892")
    '06901234567892'
    >>> normalize_gtin("00000000000000")
    Traceback (most recent call last):
    ...
    loyalcode.codegen.errors.InvalidGtin: Invalid GTIN '00000000000000': a restricted circulation number (GS1 prefix 000: Used to issue Restricted Circulation Numbers within a company), not a trade item.
    """
    if value is None:
        return None
    text = value.strip()
    if len(text) not in (8, 12, 13, 14) or not text.isascii() or not text.isdecimal():
        raise InvalidGtin(value=value, reason="use 8, 12, 13 or 14 digits")
    try:
        gtin = Gtin.parse(text)
    except BiipParseError:  # the length and digits are checked: the check digit is wrong
        raise InvalidGtin(value=value, reason="the check digit is wrong") from None
    usage = gtin.prefix.usage if gtin.prefix is not None else ""
    if isinstance(gtin, Rcn) or "restricted circulation" in usage.lower():
        raise InvalidGtin(
            value=value,
            reason=f"a restricted circulation number (GS1 prefix {gtin.prefix.value}: {usage}), "  # type: ignore[union-attr]
            "not a trade item",
        )
    if "coupon" in usage.lower() or "refund" in usage.lower():
        raise InvalidGtin(
            value=value,
            reason=f"a coupon or refund number (GS1 prefix {gtin.prefix.value}: {usage}), "  # type: ignore[union-attr]
            "not a trade item",
        )
    return gtin.as_gtin_14()


@dataclass(frozen=True, slots=True)
class BatchInfo:
    """A batch as the code core sees it; its default channel by id only
    (:class:`loyalcode.channels.batches.BatchInfo` adds the channel's code)."""

    id: int
    serial_start: int
    serial_end: int
    quantity: int
    sku: str
    name: str | None
    gtin: str | None
    points: int
    channel_id: int | None
    status: str
    line: str | None
    produced_on: dt.date | None
    redeem_from: dt.date | None
    redeem_until: dt.date | None
    payload_template: str
    created_at: dt.datetime | None
    issued_at: dt.datetime | None

    @classmethod
    def of(cls, row: Batch) -> BatchInfo:
        return cls(
            id=row.id,
            serial_start=row.serial_start,
            serial_end=row.serial_end,
            quantity=row.quantity,
            sku=row.sku,
            name=row.name,
            gtin=row.gtin,
            points=row.points,
            channel_id=row.channel_id,
            status=row.status,
            line=row.line,
            produced_on=row.produced_on,
            redeem_from=row.redeem_from,
            redeem_until=row.redeem_until,
            payload_template=row.payload_template,
            created_at=row.created_at,
            issued_at=from_db(row.issued_at),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
        return out


def allocate_serials(session: Session, quantity: int) -> int:
    """Reserve ``quantity`` serials; return the first. The database serialises this.

    One conditional ``UPDATE ... RETURNING`` on the counter row: concurrent callers
    queue on its row lock (PostgreSQL) or the write lock (SQLite ``BEGIN
    IMMEDIATE``), so ranges never overlap. Never ``SELECT max()`` then insert.
    """
    new_next = session.execute(
        update(Deployment)
        .where(Deployment.id == 1, Deployment.next_serial + quantity <= MAX_SERIAL + 1)
        .values(next_serial=Deployment.next_serial + quantity)
        .returning(Deployment.next_serial)
    ).scalar_one_or_none()
    if new_next is None:
        current = session.scalar(select(Deployment.next_serial).where(Deployment.id == 1))
        if current is None:
            raise NotInitialized(url="this database")
        raise SerialSpaceExhausted(quantity=quantity, remaining=MAX_SERIAL + 1 - current)
    return int(new_next) - quantity


def create_batch(
    session: Session,
    *,
    sku: str,
    quantity: int | str,
    points: int | str,
    payload_template: str,
    name: str | None = None,
    gtin: str | None = None,
    channel_id: int | None = None,
    line: str | None = None,
    produced_on: str | dt.date | None = None,
    redeem_from: str | dt.date | None = None,
    redeem_until: str | dt.date | None = None,
) -> Batch:
    """Validate everything, then allocate the serial range and insert the batch.

    ``channel_id`` is the default channel's row id (``loyalcode.channels.batches``
    takes a channel code). The caller owns the transaction: nothing is visible until
    it commits, and a
    failure at any point leaves no batch and no consumed serials behind.
    """
    qty = parse_quantity(quantity)
    pts = parse_points(points)
    sku = (sku or "").strip()
    if not sku or len(sku) > 64:
        raise InvalidInput("A batch needs a SKU of 1 to 64 characters.")
    if name is not None and len(name) > 200:
        raise InvalidInput("A batch name has at most 200 characters.")
    if line is not None and len(line) > 64:
        raise InvalidInput("A production line has at most 64 characters.")
    gtin14 = normalize_gtin(gtin)
    produced = parse_date(produced_on, "--produced-on")
    start_date = parse_date(redeem_from, "--redeem-from")
    end_date = parse_date(redeem_until, "--redeem-until")
    if start_date and end_date and start_date > end_date:
        raise InvalidDateRange(
            field_from="--redeem-from", start=start_date, field_until="--redeem-until", end=end_date
        )
    template = PayloadTemplate.parse(payload_template, gtin=gtin14)

    start = allocate_serials(session, qty)
    row = Batch(
        serial_start=start,
        serial_end=start + qty,
        quantity=qty,
        sku=sku,
        name=name,
        gtin=gtin14,
        points=pts,
        channel_id=channel_id,
        line=line,
        produced_on=produced,
        redeem_from=start_date,
        redeem_until=end_date,
        payload_template=template.text,
        status="created",
    )
    session.add(row)
    session.flush()
    return row


def get_batch(session: Session, batch_id: int | str) -> Batch:
    """The batch with ``batch_id``, or :class:`BatchNotFound`."""
    text = str(batch_id).strip()
    if not text.isascii() or not text.isdecimal() or len(text) > 18:
        raise BatchNotFound(batch=str(batch_id))
    row = session.get(Batch, int(text))
    if row is None:
        raise BatchNotFound(batch=str(batch_id))
    return row


def void_batch(session: Session, batch_id: int | str) -> Batch:
    """Void a batch: none of its codes redeems any more. Idempotent."""
    row = get_batch(session, batch_id)
    if row.status != "void":
        row.status = "void"
        row.voided_at = dt.datetime.now(dt.UTC)
        session.flush()
    return row


def batch_for_serial(session: Session, serial: int) -> Batch | None:
    """The batch whose range holds ``serial`` (one index probe on serial_start)."""
    row = session.scalar(
        select(Batch).where(Batch.serial_start <= serial).order_by(Batch.serial_start.desc()).limit(1)
    )
    if row is None or serial >= row.serial_end:
        return None
    return row


def seq_range(batch: Batch, seq_from: int | None, seq_to: int | None) -> tuple[int, int]:
    """The inclusive 1-based sequence range ``[from, to]``, checked against the batch."""
    start = 1 if seq_from is None else seq_from
    end = batch.quantity if seq_to is None else seq_to
    if not (1 <= start <= end <= batch.quantity):
        raise RangeOutsideBatch(start=start, end=end, batch=batch.id, quantity=batch.quantity)
    return start, end


def require_not_void(batch: Batch) -> None:
    """:class:`BatchVoid` for a void batch."""
    if batch.status == "void":
        raise BatchVoid(batch=batch.id)


def uses_example_domain(template: str) -> bool:
    """Whether ``template`` is the built-in placeholder (``LC.EXAMPLE.COM``), which a
    deployment is meant to replace with its own domain before codes leave."""
    return template == DEFAULT_PAYLOAD_TEMPLATE


def require_real_domain(batch: Batch, *, allow_example: bool = False) -> None:
    """:class:`ExampleDomain` for a batch still on the placeholder payload, unless the
    caller says a trial run is meant (``--allow-example-domain``)."""
    if not allow_example and uses_example_domain(batch.payload_template):
        raise ExampleDomain(batch=batch.id, template=batch.payload_template)


def issue_batch(session: Session, batch_id: int | str, now: dt.datetime | None = None) -> Batch:
    """The batch, its codes recorded as issued (the first export or print: ``issued_at``
    is set once) and its row locked, so the payload template read now is final. The
    caller owns the transaction: a refusal after this rolls the record back."""
    text = str(batch_id).strip()
    if text.isascii() and text.isdecimal() and len(text) <= 18:
        session.execute(
            update(Batch).where(Batch.id == int(text), Batch.issued_at.is_(None))
            .values(issued_at=utc(now)).execution_options(synchronize_session=False)
        )
    row = get_batch(session, batch_id)
    session.refresh(row)
    return row


def update_payload(session: Session, batch_id: int | str, payload_template: str) -> Batch:
    """Change a batch's QR payload template, until its codes are first exported or
    printed (then :class:`BatchAlreadyIssued`: labels carry it). A void batch is
    refused. The condition is in the UPDATE itself, so an export that records the batch
    as issued at the same moment wins or waits, never both."""
    row = get_batch(session, batch_id)
    require_not_void(row)
    template = PayloadTemplate.parse(payload_template, gtin=row.gtin)
    result = session.execute(
        update(Batch).where(Batch.id == row.id, Batch.issued_at.is_(None))
        .values(payload_template=template.text).execution_options(synchronize_session=False)
    )
    changed = cast(CursorResult[Any], result).rowcount
    session.refresh(row)
    if not changed:
        issued = from_db(row.issued_at)
        raise BatchAlreadyIssued(batch=row.id, issued_at=f"{issued:%Y-%m-%d %H:%M} UTC" if issued else "?")
    return row
