"""Erasure: a member's personal data removed from every table it is stored in.

China's Personal Information Protection Law gives a person the right to have their
data deleted. :func:`forget_member` erases, for the member and every member merged
into it:

- the phone (``members.phone``) and the ``phone`` of past event payloads (written when
  ``[events] include_phone`` was on, or before payloads left it out);
- external ids (``member_identities``: openid, unionid, shop ids);
- the profile's values (name, gender, birthday, city, email);
- the sources of its redemptions (an IP or device id, or their keyed hash);
- the throttle counters of its phone and external ids (keyed hashes).

What stays is what the programme's books and the channel team's reports are made of:
the member's row and id, its balance and ledger, its redemptions (serial, batch,
channel, points, region), gift orders, tier, and the dates its profile was completed
and its bonus credited (so the one-off bonus stays a one-off). A ``member_forgotten``
event records the erasure with ids and counts only.

Event payloads are otherwise immutable: the database refuses any other change to an
event than its acknowledgement and the removal of the phone from its payload (the
trigger of migration 0008).

The erasure writes tables of the scan (``redemptions.source``, ``scan_failures``), as
a merge re-points redemptions (:data:`loyalcode.loyalty.members.MERGE_MOVES`): by
name, in SQL, so that erasing never depends on which packages a caller imported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, text

from loyalcode.events.outbox import EventRef, emit
from loyalcode.loyalty.lock import lock_member
from loyalcode.loyalty.settings import PROFILE_FIELDS
from loyalcode.store.keys import Keyring


def _in(sql: str) -> Any:
    return text(sql).bindparams(bindparam("ids", expanding=True))


_MERGED_INTO = _in("SELECT id FROM members WHERE merged_into_id IN :ids")
_PHONES = _in("SELECT phone FROM members WHERE id IN :ids AND phone IS NOT NULL")
_IDENTITIES = _in("SELECT kind, value FROM member_identities WHERE member_id IN :ids")
_CLEAR_PHONES = _in("UPDATE members SET phone = NULL WHERE id IN :ids AND phone IS NOT NULL")
_DROP_IDENTITIES = _in("DELETE FROM member_identities WHERE member_id IN :ids")
_CLEAR_PROFILES = _in(
    "UPDATE member_profiles SET "
    + ", ".join(f"{f} = NULL" for f in PROFILE_FIELDS)
    + " WHERE member_id IN :ids AND ("
    + " OR ".join(f"{f} IS NOT NULL" for f in PROFILE_FIELDS)
    + ")"
)
_CLEAR_SOURCES = _in(
    "UPDATE redemptions SET source = NULL WHERE member_id IN :ids AND source IS NOT NULL"
)
# The consumer pages' sessions and SMS codes (issue 19): the codes name the phone.
_DROP_CHALLENGES = _in(
    "DELETE FROM phone_challenges WHERE phone IN "
    "(SELECT phone FROM members WHERE id IN :ids AND phone IS NOT NULL)")
_DROP_SESSIONS = _in("DELETE FROM page_sessions WHERE member_id IN :ids")
_DROP_COUNTER = text("DELETE FROM scan_failures WHERE kind = :kind AND value = :value")
#: The one change an event may undergo besides its acknowledgement (migration 0008's
#: trigger checks that the new payload is the old one without its ``phone``). The
#: outbox has no index on member_id (every scan would pay for one), so this reads it
#: whole: an erasure is rare.
_ERASE_PAYLOADS = {
    "postgresql": _in(
        "UPDATE events SET payload = CAST(CAST(payload AS jsonb) - 'phone' AS json) "
        "WHERE member_id IN :ids AND CAST(payload AS jsonb) ->> 'phone' IS NOT NULL"
    ),
    "sqlite": _in(
        "UPDATE events SET payload = json_remove(payload, '$.phone') "
        "WHERE member_id IN :ids AND json_extract(payload, '$.phone') IS NOT NULL"
    ),
}


@dataclass(frozen=True, slots=True)
class Erasure:
    """What :func:`forget_member` erased: the member, the members merged into it, and
    how many values of each kind; ``event`` is the ``member_forgotten`` event."""

    member: int
    merged: tuple[int, ...]
    phones: int
    identities: int
    profiles: int
    event_payloads: int
    sources: int
    counters: int
    event: EventRef

    def to_dict(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "merged": list(self.merged),
            "phones": self.phones,
            "identities": self.identities,
            "profiles": self.profiles,
            "event_payloads": self.event_payloads,
            "sources": self.sources,
            "counters": self.counters,
            "event": self.event.to_dict(),
        }


def forget_member(
    conn: Connection, member_id: int, keyring: Keyring, now: dt.datetime
) -> Erasure:
    """Erase the personal data of a member (followed through merges to the survivor)
    and of every member merged into it, in the caller's transaction.

    ``keyring`` finds the throttle counters of its phone and external ids (they are
    stored under keyed hashes). The ledger, balances, redemptions and orders stay
    under the member id; the pages' sessions and SMS codes go (the member is logged out
    everywhere); a ``member_forgotten`` event (ids and counts, nothing personal)
    says it happened. Forgetting a member again erases nothing more and says so in
    another event. :class:`~loyalcode.loyalty.errors.MemberNotFound` for an unknown id.
    """
    member = lock_member(conn, member_id)  # waits for a merge or a scan holding its row
    ids = [member]
    frontier = [member]
    while frontier:  # merges re-point their tombstones to the survivor; follow any chain
        frontier = [int(r[0]) for r in conn.execute(_MERGED_INTO, {"ids": frontier})]
        frontier = [m for m in frontier if m not in ids]
        ids.extend(frontier)
    params = {"ids": ids}

    # The throttle's keys of its phone and ids, read before the values go.
    keys = [("phone", keyring.identity_key("phone", phone))
            for (phone,) in conn.execute(_PHONES, params)]
    keys += [(kind, keyring.identity_key(kind, value))
             for kind, value in conn.execute(_IDENTITIES, params)]
    counters = sum(
        conn.execute(_DROP_COUNTER, {"kind": kind, "value": value}).rowcount
        for kind, value in keys
    )

    conn.execute(_DROP_CHALLENGES, params)  # before the phones go: they name them
    conn.execute(_DROP_SESSIONS, params)
    phones = conn.execute(_CLEAR_PHONES, params).rowcount
    identities = conn.execute(_DROP_IDENTITIES, params).rowcount
    profiles = conn.execute(_CLEAR_PROFILES, params).rowcount
    sources = conn.execute(_CLEAR_SOURCES, params).rowcount
    erase = _ERASE_PAYLOADS["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    payloads = conn.execute(erase, params).rowcount

    merged = tuple(sorted(ids[1:]))
    counts = {"phones": phones, "identities": identities, "profiles": profiles,
              "event_payloads": payloads, "sources": sources, "counters": counters}
    event = emit(conn, "member_forgotten", member,
                 {"member": member, "merged": list(merged), **counts}, now)
    return Erasure(member=member, merged=merged, event=event, **counts)
