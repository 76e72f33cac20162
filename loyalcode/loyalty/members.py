"""Members: identified by phone (E.164, unique across channels) and external ids.

A first redemption with a new phone creates the member (``member_joined``). A member
without a phone (an openid only) who binds a phone that another member holds is merged
into that member: its identities, ledger entries, redemptions, events and alerts move
to the holder of the phone, its balance moves with its ledger, and its row stays behind
as a tombstone (``merged_into_id``), so nothing is lost or counted twice
(``members_merged``).

The rules that keep an account its owner's (:func:`bind`): two members who each have a
phone are never merged, a member's phone is never replaced, and an external id and a
phone become one member's only on the caller's word that the consumer proved the phone
is theirs (``phone_verified``).

Every function takes the caller's connection; the caller owns the transaction.

>>> normalize_phone("138 0013 8000"), normalize_phone("+86 138-0013-8000")
('+8613800138000', '+8613800138000')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.exc import IntegrityError

from loyalcode.errors import InvalidInput
from loyalcode.events import outbox as events
from loyalcode.events.outbox import EventRef
from loyalcode.loyalty.errors import (
    IdentityInUse,
    InvalidIdentity,
    MemberNotFound,
    PhoneUnverified,
)
from loyalcode.loyalty.lock import resolve_id
from loyalcode.loyalty.merge import merge_loyalty
from loyalcode.loyalty.models import IDENTITY_KINDS
from loyalcode.loyalty.phones import DEFAULT_POLICY, PhonePolicy, normalize_phone
from loyalcode.store.inputs import check_text, preview
from loyalcode.store.timeutil import UtcDateTime, from_db

_TS = UtcDateTime()
#: The edge caps of text arguments (generous: the field's own rule says what fits).
MAX_PHONE_ARG = 64
MAX_IDENTITY_ARG = 256


def phone_arg(value: object, phones: PhonePolicy | None = None) -> str:
    """A phone argument from a caller: checked as text at the edge (``invalid_input``),
    then :func:`normalize_phone` under the deployment's policy (``invalid_phone``)."""
    return normalize_phone(check_text("phone", value, max_length=MAX_PHONE_ARG), phones or DEFAULT_POLICY)


def check_identity(kind: str, value: str) -> str:
    """An external id as stored: stripped, 1 to 128 printable characters."""
    if not isinstance(kind, str) or kind not in IDENTITY_KINDS:
        raise InvalidInput(
            f"Unknown identity kind {preview(kind)!r}: use one of {', '.join(IDENTITY_KINDS)}.",
            field="kind",
        )
    text_ = check_text(kind, value, max_length=MAX_IDENTITY_ARG).strip()
    if not text_ or len(text_) > 128 or not text_.isprintable():
        raise InvalidIdentity(kind=kind)
    return text_


def check_identities(identities: dict[str, str] | None) -> dict[str, str]:
    """Every external id of a call, checked (:func:`check_identity`)."""
    if identities is None:
        return {}
    if not isinstance(identities, dict):
        raise InvalidInput("Identities are a mapping of kind to value.", field="identities")
    return {kind: check_identity(kind, value) for kind, value in identities.items()}


# --- lookups ----------------------------------------------------------------------

_BY_PHONE = text("SELECT id FROM members WHERE phone = :phone")
_BY_IDENTITY = text("SELECT member_id FROM member_identities WHERE kind = :kind AND value = :value")


def member_by_phone(conn: Connection, phone: str) -> int | None:
    """The member holding an E.164 phone, or ``None``."""
    return conn.execute(_BY_PHONE, {"phone": phone}).scalar()


def member_by_identity(conn: Connection, kind: str, value: str) -> int | None:
    """The member with an external id, or ``None``."""
    return conn.execute(_BY_IDENTITY, {"kind": kind, "value": value}).scalar()


def find_member(
    conn: Connection,
    *,
    member_id: int | None = None,
    phone: str | None = None,
    identities: dict[str, str] | None = None,
    phones: PhonePolicy | None = None,
) -> int:
    """The member named by id, phone (under ``phones``, the deployment's phone
    policy) or one external id; :class:`MemberNotFound`."""
    if member_id is not None:
        return resolve_id(conn, member_id)
    if phone is not None:
        found = member_by_phone(conn, phone_arg(phone, phones))
        if found is None:
            raise MemberNotFound(by="this phone")
        return int(found)
    for kind, value in check_identities(identities).items():
        found = member_by_identity(conn, kind, value)
        if found is None:
            raise MemberNotFound(by=f"this {kind}")
        return int(found)
    raise InvalidInput("Name a member by id, phone, openid, unionid or shop id.")


# --- creation and binding -----------------------------------------------------------

_CREATE = text(
    "INSERT INTO members (phone, balance, created_at) VALUES (:phone, 0, :now) "
    "ON CONFLICT (phone) DO NOTHING RETURNING id"
).bindparams(bindparam("now", type_=_TS))
_CREATE_NO_PHONE = text(
    "INSERT INTO members (phone, balance, created_at) VALUES (NULL, 0, :now) RETURNING id"
).bindparams(bindparam("now", type_=_TS))
_LINK = text(
    "INSERT INTO member_identities (member_id, kind, value, created_at) "
    "VALUES (:member_id, :kind, :value, :now) ON CONFLICT (kind, value) DO NOTHING RETURNING member_id"
).bindparams(bindparam("now", type_=_TS))
# Matches nothing once the member has a phone: a concurrent bind gave it one (this one
# or another) while this one waited for the row. A phone is never replaced.
_SET_PHONE = text("UPDATE members SET phone = :phone WHERE id = :id AND phone IS NULL")
_PHONE_OF = text("SELECT phone FROM members WHERE id = :id")


def create_member(
    conn: Connection, phone: str | None, now: dt.datetime, via: str, *,
    include_phone: bool = False,
) -> tuple[int, list[EventRef]]:
    """The member with ``phone``, created (with a ``member_joined`` event) if new.

    ``INSERT ... ON CONFLICT DO NOTHING`` is the guard against two first scans of one
    phone at once: the loser of the race reads the winner's row. The event carries the
    phone only when ``include_phone`` (``[events] include_phone``).
    """
    if phone is None:
        member_id = conn.execute(_CREATE_NO_PHONE, {"now": now}).scalar_one()
    else:
        member_id = conn.execute(_CREATE, {"phone": phone, "now": now}).scalar()
        if member_id is None:
            return int(conn.execute(_BY_PHONE, {"phone": phone}).scalar_one()), []
    ev = events.emit(conn, "member_joined", member_id, _facts(member_id, phone, include_phone, via=via), now)
    return int(member_id), [ev]


def _facts(member: int, phone: str | None, include_phone: bool, **more: Any) -> dict[str, Any]:
    """An event payload about a member: its id, its phone when payloads carry it."""
    payload: dict[str, Any] = {"member": member}
    if include_phone:
        payload["phone"] = phone
    payload.update(more)
    return payload


def link_identity(conn: Connection, member_id: int, kind: str, value: str, now: dt.datetime) -> int:
    """Attach an external id to a member unless someone holds it; returns its holder."""
    owner = conn.execute(
        _LINK, {"member_id": member_id, "kind": kind, "value": value, "now": now}
    ).scalar()
    if owner is not None:
        return int(owner)
    return int(conn.execute(_BY_IDENTITY, {"kind": kind, "value": value}).scalar_one())


#: ``(table, column)`` pairs that point at a member and move to the survivor of a merge.
#: The loyalty programme appends its own tables (gift orders, tiers, ...). Outbox
#: events are not among them: an event is an immutable record of what happened to the
#: member it names, and ``members_merged`` tells the CRM who was joined to whom.
MERGE_MOVES: list[tuple[str, str]] = [
    ("member_identities", "member_id"),
    ("ledger", "member_id"),
    ("redemptions", "member_id"),
    ("clone_alerts", "redeemed_by_id"),
    ("clone_alerts", "attempted_by_id"),
]

_LOCK_PAIR = text(
    "SELECT id, phone, balance, earned_total, merged_into_id FROM members WHERE id IN (:a, :b) "
    "ORDER BY id"
)
_ABSORB = text(
    "UPDATE members SET balance = 0, earned_total = 0, phone = NULL, merged_into_id = :into "
    "WHERE id = :id"
)
_ADD_BALANCE = text(
    "UPDATE members SET balance = balance + :points, earned_total = earned_total + :earned "
    "WHERE id = :id"
)
_REPOINT = text("UPDATE members SET merged_into_id = :into WHERE merged_into_id = :id")


class _Raced(Exception):
    """Internal: another transaction changed the members a bind read (merged one of
    them, or took the phone) while it waited for their rows: what it read is out of
    date. Nothing was written by the statement that found out."""


def merge(conn: Connection, absorbed: int, into: int, now: dt.datetime) -> EventRef | None:
    """Move everything of member ``absorbed`` to member ``into``; one ``members_merged``.

    Ledger entries are re-pointed, never rewritten, so the survivor's balance (old
    balance + absorbed balance) is still the sum of its ledger. When a concurrent
    merge has joined either of them to someone by the time their rows are locked, the
    members they have become are merged instead; ``None`` if that is one member.
    """
    while True:
        try:
            return _merge(conn, absorbed, into, now)
        except _Raced:
            absorbed, into = resolve_id(conn, absorbed), resolve_id(conn, into)
            if absorbed == into:
                return None


def _merge(
    conn: Connection, absorbed: int, into: int, now: dt.datetime, phoneless: bool = False
) -> EventRef:
    """:func:`merge` of two members that are still live once their rows are locked,
    else :class:`_Raced` (nothing written). ``phoneless``: the absorbed member must
    still have no phone then (a bind decided so before the lock; a concurrent bind may
    have given it one since, and two members with a phone are never merged)."""
    if absorbed == into:
        raise InvalidInput("A member cannot be merged into itself.")
    lock = _LOCK_PAIR
    if conn.dialect.name == "postgresql":  # lock both rows in id order: no deadlock
        lock = text(str(_LOCK_PAIR) + " FOR UPDATE")
    rows = {r.id: r for r in conn.execute(lock, {"a": absorbed, "b": into})}
    # Locking waited for any merge that held them, and read their rows as it left them.
    if rows[absorbed].merged_into_id is not None or rows[into].merged_into_id is not None:
        raise _Raced()
    if phoneless and rows[absorbed].phone is not None:
        raise _Raced()
    moved, earned = int(rows[absorbed].balance), int(rows[absorbed].earned_total)
    counts: dict[str, int] = {}
    for table, column in MERGE_MOVES:
        result = conn.execute(
            text(f"UPDATE {table} SET {column} = :into WHERE {column} = :id"),
            {"into": into, "id": absorbed},
        )
        counts[f"{table}.{column}"] = result.rowcount
    conn.execute(_ABSORB, {"into": into, "id": absorbed})
    conn.execute(_REPOINT, {"into": into, "id": absorbed})
    conn.execute(_ADD_BALANCE, {"points": moved, "earned": earned, "id": into})
    payload = {
        "member": into,
        "merged_from": absorbed,
        "points_moved": moved,
        "ledger_entries_moved": counts["ledger.member_id"],
        "redemptions_moved": counts["redemptions.member_id"],
        "identities_moved": counts["member_identities.member_id"],
    }
    merged = events.emit(conn, "members_merged", into, payload, now)
    # The programme's state: profile and its one-off bonus, tier, gift orders and claims.
    merge_loyalty(conn, absorbed, into, now)
    return merged


@dataclass(frozen=True, slots=True)
class BindResult:
    """What a bind did: the member that now holds everything, and the events raised."""

    member: int
    created: bool
    merged_from: int | None
    events: tuple[EventRef, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "created": self.created,
            "merged_from": self.merged_from,
            "events": [e.to_dict() for e in self.events],
        }


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a bind will do, decided from what it read (see :func:`check_bind`)."""

    subject: int | None  # the member named (by id, else by an external id it holds)
    holder: int | None  # the member holding the phone
    final: int | None  # the member that ends with everything (None: a new one)
    set_phone: bool  # the subject (phone-less) gets the phone no one holds
    absorb: bool  # the subject (phone-less) is merged into the phone's holder


def _owner_phone(conn: Connection, member: int) -> str | None:
    return conn.execute(_PHONE_OF, {"id": member}).scalar()  # type: ignore[no-any-return]


def _plan(
    conn: Connection,
    e164: str | None,
    member_id: int | None,
    ids: dict[str, str],
    phone_verified: bool,
) -> _Plan:
    """Decide a bind from what is there now, or refuse it (nothing written):

    * a member who has a phone is never given another one, nor merged into another
      member (``identity_in_use``);
    * an external id held by another member who has a phone stays theirs
      (``identity_in_use``);
    * when the bind makes a phone and an external id one member's that were not
      (linking an id to a member with a phone, or to a new member created with the
      phone; giving a phone-less member the phone; merging it into the phone's holder),
      the caller must vouch that the phone was verified (``phone_unverified``).
    """
    subject = resolve_id(conn, member_id) if member_id is not None else None
    owners = {kind: member_by_identity(conn, kind, value) for kind, value in ids.items()}
    named_by = None
    if subject is None:
        for kind, owner in owners.items():
            if owner is not None:
                subject, named_by = int(owner), kind
                break
    holder = member_by_phone(conn, e164) if e164 is not None else None
    subject_phone = _owner_phone(conn, subject) if subject is not None else None

    if e164 is not None:
        if subject is not None and subject != holder and subject_phone is not None:
            if named_by is not None:
                raise IdentityInUse(kind=named_by)
            raise IdentityInUse(
                "This member has another phone: a phone is never replaced, and two members "
                "who each have a phone are never merged.",
                kind="phone",
            )
        final = holder if holder is not None else subject
        final_phone: str | None = e164
    else:
        final, final_phone = subject, subject_phone
    for kind, owner in owners.items():
        if (owner is not None and owner not in (final, subject)
                and _owner_phone(conn, int(owner)) is not None):
            raise IdentityInUse(kind=kind)
    joins_phone = final_phone is not None and (
        any(owner is None or owner != final for owner in owners.values())
        or (e164 is not None and subject is not None and subject != holder)
    )
    if joins_phone and not phone_verified:
        raise PhoneUnverified()
    return _Plan(
        subject=subject,
        holder=holder,
        final=final,
        set_phone=e164 is not None and holder is None and subject is not None,
        absorb=e164 is not None and holder is not None and subject not in (None, holder),
    )


def check_bind(
    conn: Connection,
    *,
    phone: str | None = None,
    member_id: int | None = None,
    identities: dict[str, str] | None = None,
    phone_verified: bool = False,
    phones: PhonePolicy | None = None,
) -> None:
    """Raise what :func:`bind` of these arguments would refuse now (``identity_in_use``,
    ``phone_unverified``, bad input), writing nothing: for a caller that must answer a
    refusal before it does other work (the scan decides it before the code's state, so
    that the answer says nothing about the code)."""
    e164 = phone_arg(phone, phones) if phone is not None else None
    _plan(conn, e164, member_id, check_identities(identities), phone_verified)


def bind(
    conn: Connection,
    *,
    now: dt.datetime,
    phone: str | None = None,
    member_id: int | None = None,
    identities: dict[str, str] | None = None,
    via: str = "bind",
    phones: PhonePolicy | None = None,
    include_phone: bool = False,
    phone_verified: bool = False,
) -> BindResult:
    """Bind a phone and/or external ids to one member.

    The member is the one named by ``member_id``, else the holder of the first given
    external id that exists, else the holder of the phone, else a new member. A member
    without a phone that binds a phone another member holds is merged into the phone's
    holder; an external id held by another member without a phone is merged in the same
    way. Refusals (nothing changed once the caller rolls back), by :func:`_plan`:
    ``identity_in_use`` (an id held by a member with a phone, a member with a phone given
    another, two members with a phone merged) and ``phone_unverified``: a phone and an
    external id become one member's only with ``phone_verified=True``, the caller's word
    that the consumer proved the phone is theirs (an SMS one-time code, or WeChat's
    phone-number API; an operator binding for a customer who showed it). Events carry
    the phone only when ``include_phone`` (``[events] include_phone``).
    """
    e164 = phone_arg(phone, phones) if phone is not None else None
    ids = check_identities(identities)
    check_text("via", via, max_length=32)
    if e164 is None and not ids and member_id is None:
        raise InvalidInput("Give a phone or an external id to bind.")
    raised: list[EventRef] = []
    created = False
    merged_from: int | None = None
    while True:
        try:
            plan = _plan(conn, e164, member_id, ids, phone_verified)
            subject = plan.final
            if subject is None:
                subject, joined = create_member(conn, e164, now, via, include_phone=include_phone)
                raised.extend(joined)
                created = created or bool(joined)  # no event: a concurrent first scan made it
            elif plan.absorb:
                assert plan.subject is not None and plan.holder is not None
                raised.append(
                    _merge(conn, absorbed=plan.subject, into=plan.holder, now=now, phoneless=True)
                )
                merged_from = plan.subject
            elif plan.set_phone:
                assert e164 is not None
                _set_phone(conn, subject, e164)
                raised.append(
                    events.emit(
                        conn,
                        "phone_bound",
                        subject,
                        _facts(subject, e164, include_phone, replaced=False),
                        now,
                    )
                )

            for kind, value in ids.items():
                owner = link_identity(conn, subject, kind, value, now)
                if owner != subject:
                    # phone-less when the plan looked (else refused); one that got a
                    # phone since makes the merge raise _Raced, and the plan refuses
                    if _owner_phone(conn, owner) is not None:
                        raise IdentityInUse(kind=kind)
                    raised.append(_merge(conn, absorbed=owner, into=subject, now=now, phoneless=True))
                    merged_from = owner
            return BindResult(
                member=subject, created=created, merged_from=merged_from, events=tuple(raised)
            )
        except _Raced:
            # A merge of one of them, or a bind of the phone, committed while this one
            # waited: decide again from what is there now (each time round follows a
            # commit that merged members or bound a phone, so this ends).
            continue

def _set_phone(conn: Connection, member: int, phone: str) -> None:
    """Give a member the phone no one held when the bind looked, else :class:`_Raced`.

    On PostgreSQL a first scan or a bind of the same phone can commit meanwhile: the
    unique index then refuses the phone, in a savepoint so that the transaction goes on
    (the bind decides again and merges into that holder). SQLite has one writer at a
    time (BEGIN IMMEDIATE), so the phone is still free there.
    """
    params = {"phone": phone, "id": member}
    if conn.dialect.name != "postgresql":
        changed = conn.execute(_SET_PHONE, params).rowcount
    else:
        try:
            with conn.begin_nested():
                changed = conn.execute(_SET_PHONE, params).rowcount
        except IntegrityError:
            raise _Raced() from None
    if not changed:
        raise _Raced()


# --- reading --------------------------------------------------------------------------

_SHOW = text("SELECT id, phone, balance, created_at FROM members WHERE id = :id").columns(
    created_at=_TS
)
_IDS = text("SELECT kind, value FROM member_identities WHERE member_id = :id ORDER BY kind, value")
_LEDGER_SUM = text("SELECT coalesce(sum(delta), 0) FROM ledger WHERE member_id = :id")
_REDEMPTION_COUNT = text("SELECT count(*) FROM redemptions WHERE member_id = :id")
_LEDGER = text(
    "SELECT id, delta, kind, reason, redemption_serial, created_at FROM ledger "
    "WHERE member_id = :id ORDER BY id"
).columns(created_at=_TS)


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """One ledger entry as ``member show --ledger`` prints it."""

    id: int
    delta: int
    kind: str
    reason: str
    redemption_serial: int | None
    created_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "delta": self.delta,
            "kind": self.kind,
            "reason": self.reason,
            "redemption_serial": self.redemption_serial,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """A member as ``member show`` prints it."""

    id: int
    phone: str | None
    balance: int
    ledger_sum: int
    redemptions: int
    identities: tuple[tuple[str, str], ...]
    created_at: dt.datetime
    ledger: tuple[LedgerLine, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "phone": self.phone,
            "balance": self.balance,
            "ledger_sum": self.ledger_sum,
            "redemptions": self.redemptions,
            "identities": [{"kind": k, "value": v} for k, v in self.identities],
            "created_at": self.created_at.isoformat(),
        }
        if self.ledger:
            out["ledger"] = [line.to_dict() for line in self.ledger]
        return out


def member_info(conn: Connection, member_id: int, *, with_ledger: bool = False) -> MemberInfo:
    """The member's phone, balance (and its ledger's sum), identities, redemptions."""
    member_id = resolve_id(conn, member_id)
    row = conn.execute(_SHOW, {"id": member_id}).one()
    ledger: tuple[LedgerLine, ...] = ()
    if with_ledger:
        ledger = tuple(
            LedgerLine(r.id, int(r.delta), r.kind, r.reason, r.redemption_serial, from_db(r.created_at))  # type: ignore[arg-type]
            for r in conn.execute(_LEDGER, {"id": member_id})
        )
    return MemberInfo(
        id=row.id,
        phone=row.phone,
        balance=int(row.balance),
        ledger_sum=int(conn.execute(_LEDGER_SUM, {"id": member_id}).scalar_one()),
        redemptions=int(conn.execute(_REDEMPTION_COUNT, {"id": member_id}).scalar_one()),
        identities=tuple((r.kind, r.value) for r in conn.execute(_IDS, {"id": member_id})),
        created_at=from_db(row.created_at),  # type: ignore[arg-type]
        ledger=ledger,
    )


#: Most ledger entries one page returns.
MAX_PAGE = 1000


def ledger_page(conn: Connection, member_id: int, *, after: int = 0,
                limit: int = 100) -> tuple[int, tuple[LedgerLine, ...]]:
    """The surviving member's id (merges followed) and its ledger entries with ids above
    ``after``, oldest first, at most ``limit`` (cursor pagination: ask again with the
    last id)."""
    _check_page(after, limit)
    member_id = resolve_id(conn, member_id)
    rows = conn.execute(_LEDGER_PAGE, {"id": member_id, "after": after, "limit": limit})
    return member_id, tuple(
        LedgerLine(r.id, int(r.delta), r.kind, r.reason, r.redemption_serial,
                   from_db(r.created_at))  # type: ignore[arg-type]
        for r in rows
    )


_LEDGER_PAGE = text(
    "SELECT id, delta, kind, reason, redemption_serial, created_at FROM ledger "
    "WHERE member_id = :id AND id > :after ORDER BY id LIMIT :limit"
).columns(created_at=_TS)


def _check_page(after: Any, limit: Any) -> None:
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise InvalidInput(f"after must be a whole number >= 0, got {after!r}.")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_PAGE}, got {limit!r}.")
