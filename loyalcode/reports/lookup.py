"""Customer service: what the visible serial (明码) printed on a package says about its code.

A consumer calls: "the app says my code was already used", or "not activated". The
agent reads the visible serial off the package (never the hidden code: that is money
and is neither asked for nor stored) and :func:`lookup` tells, for each serial, its
batch and sequence number, the channel it is activated for now and how many
activations ever covered it, the redemption (when, which member with the phone
masked, points, channel, scan region, diversion), any clone alert, and a one-word
``state``: what a scan of the code would be answered now.

Reads only, and needs no key: the visible serial is not secret. Serials are looked up
in chunks, a few set-based queries a chunk, however many there are.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Date,
    Integer,
    String,
    bindparam,
    text,
)
from sqlalchemy.orm import Session

from loyalcode.channels.shipping import ShipmentRef
from loyalcode.channels.sql import code_joins
from loyalcode.codegen.codeformat import MAX_SERIAL
from loyalcode.codegen.visible import VisibleSerials, decode_visible, for_salt
from loyalcode.redemption.settings import RedemptionSettings
from loyalcode.store.timeutil import UtcDateTime, from_db, utc

#: The one-word states, in the order a scan's checks meet them (as ``redeem`` does).
STATES = ("unknown", "void", "not_yet_valid", "expired", "not_activated", "redeemed",
          "redeemable")
#: Why a line is ``invalid``; it never repeats the text (it may be a hidden code).
NOT_A_SERIAL = "not a visible serial (明码) of this deployment"
CHUNK = 500  # serials a query: well below SQLite's bound on parameters


@dataclass(frozen=True, slots=True)
class BatchRef:
    """The batch a serial lies in, as customer service needs it."""

    id: int
    sku: str
    name: str | None
    status: str
    redeem_from: dt.date | None
    redeem_until: dt.date | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "sku": self.sku, "name": self.name, "status": self.status,
            "redeem_from": _iso(self.redeem_from), "redeem_until": _iso(self.redeem_until),
        }


@dataclass(frozen=True, slots=True)
class RedemptionRef:
    """A code's redemption: when, by which member (phone masked), and how it was credited."""

    redeemed_at: dt.datetime
    member: int
    phone: str | None
    points: int
    channel: str | None
    purchase_channel: str | None
    scan_region: str | None
    diversion: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "redeemed_at": self.redeemed_at.isoformat(), "member": self.member,
            "phone": self.phone, "points": self.points, "channel": self.channel,
            "purchase_channel": self.purchase_channel, "scan_region": self.scan_region,
            "diversion": self.diversion,
        }


@dataclass(frozen=True, slots=True)
class CloneRef:
    """The clone alert of a code: another member scanned it after it was redeemed.
    ``attempted_by`` is ``None`` when that scan's member did not exist before it."""

    created_at: dt.datetime
    attempted_by: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"created_at": self.created_at.isoformat(), "attempted_by": self.attempted_by}


@dataclass(frozen=True, slots=True)
class SerialInfo:
    """What one line of input names.

    ``line`` counts the inputs from 1. ``status`` is ``ok`` or ``invalid`` (the text is
    no visible serial of this deployment; nothing else is set and the text is not
    kept). ``visible`` is the serial as printed, ``serial`` the global serial. ``state``
    is what a scan would be answered now (:data:`STATES`); the redemption and the clone
    alert are reported whatever it is (a redeemed code of a batch voided later is
    ``void``). ``channel`` is the channel of the newest activation covering the serial
    (``activated_at`` its time) and ``activations`` how many activations ever did.
    """

    line: int
    status: str
    visible: str | None = None
    serial: int | None = None
    state: str | None = None
    batch: BatchRef | None = None
    seq: int | None = None
    channel: str | None = None
    activated_at: dt.datetime | None = None
    activations: int = 0
    redemption: RedemptionRef | None = None
    clone_alert: CloneRef | None = None
    case: str | None = None
    pallet: str | None = None
    shipments: tuple[ShipmentRef, ...] = ()

    @property
    def message(self) -> str | None:
        """Why the line is invalid (``None`` when it is not)."""
        return NOT_A_SERIAL if self.status == "invalid" else None

    def to_dict(self) -> dict[str, Any]:
        """The ``lookup --json`` line: every key on every line, ``null`` when unknown."""
        return {
            "line": self.line, "status": self.status, "message": self.message,
            "visible": self.visible, "serial": self.serial, "state": self.state,
            "batch": self.batch.to_dict() if self.batch else None, "seq": self.seq,
            "channel": self.channel, "activated_at": _iso(self.activated_at),
            "activations": self.activations,
            "redemption": self.redemption.to_dict() if self.redemption else None,
            "clone_alert": self.clone_alert.to_dict() if self.clone_alert else None,
            "case": self.case, "pallet": self.pallet,
            "shipments": [ref.to_dict() for ref in self.shipments],
        }


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def mask_phone(e164: str | None) -> str | None:
    """A member's phone for an agent's screen: the country code, the first 3 and the last
    4 national digits, a ``*`` for each digit between. A national number shorter than
    11 digits keeps only its last third, so that most of it stays hidden.

    >>> mask_phone("+8613800138000")
    '+86138****8000'
    >>> mask_phone("+85291234567")
    '+852******67'
    >>> mask_phone(None) is None
    True
    """
    if e164 is None:
        return None
    import phonenumbers

    number = phonenumbers.parse(e164)
    national = phonenumbers.national_significant_number(number)
    head, tail = (3, 4) if len(national) >= 11 else (0, len(national) // 3)
    hidden = len(national) - head - tail
    return f"+{number.country_code}{national[:head]}{'*' * hidden}{national[len(national) - tail:]}"


def parse_serial(text: str, serials: VisibleSerials) -> int | None:
    """The global serial a visible serial names, or ``None`` when ``text`` is none of
    this deployment's. Full-width forms are folded, spaces and hyphens dropped, case
    ignored."""
    folded = "".join(unicodedata.normalize("NFKC", text).split()).replace("-", "")
    serial = decode_visible(folded, serials)
    return serial if serial is not None and serial <= MAX_SERIAL else None


# The batch, activation span and channel of each serial (sql.code_joins, as a scan
# reads them), the redemption with its member and channels, and the clone alert: one
# statement for a chunk.
_FACTS = (
    "WITH s(serial) AS (VALUES {values}) "
    "SELECT s.serial, b.id AS batch_id, b.serial_start, b.serial_end, b.sku, b.name, b.status, "
    "b.redeem_from, b.redeem_until, c.code AS channel, act.created_at AS activated_at, "
    "r.redeemed_at, r.member_id, m.phone, r.points, rc.code AS redeemed_channel, "
    "pc.code AS purchase_channel, r.scan_region, r.diversion, "
    "ca.created_at AS alerted_at, ca.attempted_by_id, lu.sscc AS case_sscc, "
    "lp.sscc AS pallet_sscc "
    f"FROM s {code_joins('s.serial')} "
    "LEFT JOIN activations act ON act.id = a.activation_id "
    "LEFT JOIN redemptions r ON r.serial = s.serial "
    "LEFT JOIN members m ON m.id = r.member_id "
    "LEFT JOIN channels rc ON rc.id = r.channel_id "
    "LEFT JOIN channels pc ON pc.id = r.purchase_channel_id "
    "LEFT JOIN clone_alerts ca ON ca.serial = s.serial "
    # its case (the content run starting at or below it, one probe) and that case's pallet
    "LEFT JOIN case_contents cc ON cc.id = (SELECT c2.id FROM case_contents c2 "
    "WHERE c2.serial_start <= s.serial ORDER BY c2.serial_start DESC LIMIT 1) "
    "AND cc.serial_end > s.serial "
    "LEFT JOIN logistic_units lu ON lu.id = cc.case_id "
    "LEFT JOIN logistic_units lp ON lp.id = lu.pallet_id"
)
_FACT_TYPES = {
    "redeem_from": Date(), "redeem_until": Date(), "activated_at": UtcDateTime(),
    "redeemed_at": UtcDateTime(), "diversion": Boolean(),
    "alerted_at": UtcDateTime(),
}
# Every activation to a channel (kind 'a'; not a deactivation or an undo) and every closed shipment's range (kind 's', with the
# shipment) of these batches that can cover a serial between lo and hi, in one statement.
_HISTORY = text(
    "SELECT 'a' AS kind, batch_id, serial_start, serial_end, 0 AS rid, NULL AS shipment, "
    "NULL AS what, NULL AS channel, NULL AS closed_at FROM activations "
    "WHERE batch_id IN :batches AND serial_start <= :hi AND serial_end > :lo "
    "AND channel_id IS NOT NULL "
    "UNION ALL SELECT 's', sr.batch_id, sr.serial_start, sr.serial_end, sr.id, sh.id, sh.kind, "
    "ch.code, sh.closed_at FROM shipment_ranges sr JOIN shipments sh ON sh.id = sr.shipment_id "
    "LEFT JOIN channels ch ON ch.id = sh.channel_id "
    "WHERE sr.batch_id IN :batches AND sr.serial_start <= :hi AND sr.serial_end > :lo"
).bindparams(bindparam("batches", expanding=True)).columns(
    kind=String(), batch_id=Integer(), serial_start=BigInteger(), serial_end=BigInteger(),
    rid=Integer(), shipment=Integer(), what=String(), channel=String(),
    closed_at=UtcDateTime())


def lookup(
    conn: Connection | Session,
    serials: Iterable[str],
    visible: str,
    *,
    tz: dt.tzinfo | None = None,
    now: dt.datetime | None = None,
) -> list[SerialInfo]:
    """What each text of ``serials`` (visible serials, as an agent types them) says,
    one :class:`SerialInfo` per text, in order.

    ``visible`` is the deployment's salt of visible serials
    (``Deployment.visible_salt``). Windows are judged on the day ``now`` (default: the
    current time) is in ``tz`` (default: the redemption settings' default zone). Reads
    only: the caller owns the connection and its transaction.
    """
    decoder = for_salt(visible)
    zone = tz if tz is not None else RedemptionSettings().tzinfo()
    today = utc(now).astimezone(zone).date()
    found: list[SerialInfo] = []
    texts = iter(serials)
    while chunk := list(islice(texts, CHUNK)):
        parsed = [parse_serial(t, decoder) for t in chunk]
        known = _facts(conn, sorted({s for s in parsed if s is not None}))
        first = len(found) + 1
        for number, serial in enumerate(parsed, start=first):
            if serial is None:
                found.append(SerialInfo(line=number, status="invalid"))
            else:
                found.append(_info(number, decoder.encode(serial), known[serial], today))
    return found


def _facts(conn: Connection | Session, serials: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The row of facts of each serial, with ``activations`` (the count) added."""
    if not serials:
        return {}
    values = ", ".join(f"(CAST(:s{i} AS BIGINT))" for i in range(len(serials)))
    statement = text(_FACTS.format(values=values)).columns(**_FACT_TYPES)  # type: ignore[arg-type]
    rows = conn.execute(statement, {f"s{i}": s for i, s in enumerate(serials)}).mappings()
    facts = {int(r["serial"]): dict(r) for r in rows}
    batches = sorted({int(f["batch_id"]) for f in facts.values() if f["batch_id"] is not None})
    spans: list[tuple[int, int]] = []
    sent: list[Any] = []  # shipment ranges, in the order they were closed
    if batches:
        for r in conn.execute(_HISTORY, {"batches": batches, "lo": serials[0], "hi": serials[-1]}):
            if r.kind == "a":
                spans.append((int(r.serial_start), int(r.serial_end)))
            else:
                sent.append(r)
    sent.sort(key=lambda r: int(r.rid))
    # Activations covering a serial: those starting at or below it, less those that also
    # end at or below it (activations of other batches never start or end inside this
    # one's range, so they cancel out or are not counted).
    starts = sorted(start for start, _ in spans)
    ends = sorted(end for _, end in spans)
    for serial, fact in facts.items():
        fact["activations"] = bisect_right(starts, serial) - bisect_right(ends, serial)
        fact["shipments"] = tuple(
            ShipmentRef(id=int(r.shipment), kind=r.what, channel=r.channel,
                        closed_at=from_db(r.closed_at))  # type: ignore[arg-type]
            for r in sent
            if r.batch_id == fact["batch_id"] and r.serial_start <= serial < r.serial_end)
    return facts


def _info(line: int, visible: str, f: dict[str, Any], today: dt.date) -> SerialInfo:
    if f["batch_id"] is None or int(f["serial"]) >= int(f["serial_end"]):  # in no batch
        return SerialInfo(line=line, status="ok", visible=visible, serial=int(f["serial"]),
                          state="unknown")
    batch = BatchRef(id=int(f["batch_id"]), sku=f["sku"], name=f["name"], status=f["status"],
                     redeem_from=f["redeem_from"], redeem_until=f["redeem_until"])
    redemption = None
    if f["redeemed_at"] is not None:
        redemption = RedemptionRef(
            redeemed_at=from_db(f["redeemed_at"]),  # type: ignore[arg-type]
            member=int(f["member_id"]), phone=mask_phone(f["phone"]), points=int(f["points"]),
            channel=f["redeemed_channel"], purchase_channel=f["purchase_channel"],
            scan_region=f["scan_region"], diversion=bool(f["diversion"]),
        )
    clone = None
    if f["alerted_at"] is not None:
        attempted = f["attempted_by_id"]
        clone = CloneRef(created_at=from_db(f["alerted_at"]),  # type: ignore[arg-type]
                         attempted_by=int(attempted) if attempted is not None else None)
    serial = int(f["serial"])
    return SerialInfo(
        line=line, status="ok", visible=visible, serial=serial,
        state=_state(batch, f["channel"] is not None, redemption is not None, today),
        batch=batch, seq=serial - int(f["serial_start"]) + 1, channel=f["channel"],
        activated_at=from_db(f["activated_at"]), activations=int(f["activations"]),
        redemption=redemption, clone_alert=clone, case=f["case_sscc"], pallet=f["pallet_sscc"],
        shipments=f["shipments"],
    )


def _state(batch: BatchRef, activated: bool, redeemed: bool, today: dt.date) -> str:
    """What a scan would be answered today: the checks of ``Redeemer.redeem`` in its
    order (void, window, closed, activation), then whether the code is redeemed."""
    if batch.status == "void":
        return "void"
    if batch.redeem_from is not None and today < batch.redeem_from:
        return "not_yet_valid"
    if batch.redeem_until is not None and today > batch.redeem_until:
        return "expired"
    if batch.status == "closed":
        return "expired"
    if not activated or batch.status == "created":
        return "not_activated"
    return "redeemed" if redeemed else "redeemable"
