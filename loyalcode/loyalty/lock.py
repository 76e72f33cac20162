"""The member lock: one member id followed through merges to the survivor, and its row
locked first by whatever writes a member's points or loyalty rows.

In a module of its own so that members (whose merge calls the programme's merge
participants), tiers, profiles and gifts all take the same lock in the same order
without importing each other in a circle.
"""

from __future__ import annotations

from sqlalchemy import Connection, TextClause, text

from loyalcode.loyalty.errors import MemberNotFound

_BY_ID = text("SELECT id, phone, merged_into_id FROM members WHERE id = :id")


_BY_ID_LOCKED = text(str(_BY_ID) + " FOR NO KEY UPDATE")


def resolve_id(conn: Connection, member_id: int) -> int:
    """A member id, following merges to the surviving member; :class:`MemberNotFound`."""
    return _follow(conn, member_id, _BY_ID)


def lock_member(conn: Connection, member_id: int) -> int:
    """:func:`resolve_id`, with the surviving member's row locked until the caller's
    transaction ends (PostgreSQL; on SQLite the writing transaction holds the database).

    Whatever writes a member's points or loyalty rows (profile, gift orders) takes this
    first, so it takes the member's row before the others, as a merge does (both
    members' rows, then their profiles, orders and claims): a merge then either
    committed before, and the lock followed it to the survivor, or waits; never a
    deadlock, never a write to a tombstone. :class:`MemberNotFound`.
    """
    if conn.dialect.name != "postgresql":
        return _follow(conn, member_id, _BY_ID)
    return _follow(conn, member_id, _BY_ID_LOCKED)  # waits for a merge, then reads its row


#: Member ids are 32-bit integers; anything else names no member.
MAX_ID = 2**31 - 1


def _follow(conn: Connection, member_id: int, query: TextClause) -> int:
    if isinstance(member_id, bool) or not isinstance(member_id, int) or not 0 < member_id <= MAX_ID:
        raise MemberNotFound(by="this id")
    seen = 0
    while True:
        row = conn.execute(query, {"id": member_id}).first()
        if row is None:
            raise MemberNotFound(by=f"id {member_id}")
        if row.merged_into_id is None or seen > 100:
            return int(row.id)
        member_id, seen = row.merged_into_id, seen + 1
