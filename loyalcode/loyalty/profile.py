"""Member profiles and the one-off completion bonus.

Which fields make a profile complete is configuration (``loyalty.profile_fields``).
The first time a profile is complete the member gets ``loyalty.profile_bonus`` points
and a ``profile_completed`` event. ``member_profiles.bonus_at`` is set by a
conditional ``UPDATE ... WHERE bonus_at IS NULL``: whoever changes that row credits
the bonus, so repeats and concurrent updates credit it once; a merge keeps the flag
(:mod:`loyalcode.loyalty.merge`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Date, bindparam, text

from loyalcode.errors import InvalidText
from loyalcode.events.outbox import EventRef
from loyalcode.loyalty import points
from loyalcode.loyalty.errors import InvalidProfile, PhoneRequired
from loyalcode.loyalty.lock import lock_member, resolve_id
from loyalcode.loyalty.models import GENDERS
from loyalcode.loyalty.moments import emit_moment
from loyalcode.loyalty.settings import PROFILE_FIELDS, LoyaltySettings
from loyalcode.store.inputs import check_text, preview
from loyalcode.store.timeutil import UtcDateTime, from_db

_TS = UtcDateTime()
_GENDER_WORDS = {
    "female": "female", "f": "female", "woman": "female", "女": "female",
    "male": "male", "m": "male", "man": "male", "男": "male",
    "other": "other", "其他": "other",
}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


#: The edge cap of a profile value (each field's own rule says what fits).
MAX_PROFILE_ARG = 1024


def clean_fields(values: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """Validated profile values (``None`` means "leave as it is"); :class:`InvalidProfile`.

    >>> clean_fields({"name": " 王小明 ", "gender": "女", "birthday": "1990-05-01"}, dt.date(2025, 1, 1))
    {'name': '王小明', 'gender': 'female', 'birthday': datetime.date(1990, 5, 1)}
    """
    out: dict[str, Any] = {}
    for field, value in values.items():
        if field not in PROFILE_FIELDS:
            raise InvalidProfile(field=preview(field),
                                 reason=f"not a profile field ({', '.join(PROFILE_FIELDS)})")
        if value is None:
            continue
        if isinstance(value, str):  # the profile's own code, for what the edge refuses
            try:
                check_text(field, value, max_length=MAX_PROFILE_ARG)
            except InvalidText as err:
                raise InvalidProfile(field=field, reason=err.facts["reason"]) from None
        if field == "birthday":
            try:
                day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip())
            except ValueError:
                raise InvalidProfile(field=field, reason="use YYYY-MM-DD") from None
            if not dt.date(1900, 1, 1) <= day <= today:
                raise InvalidProfile(field=field, reason="not a date of birth")
            out[field] = day
            continue
        text_ = value.strip() if isinstance(value, str) else ""
        if field == "gender":
            gender = _GENDER_WORDS.get(text_.lower())
            if gender is None:
                raise InvalidProfile(field=field, reason=f"use one of {', '.join(GENDERS)}")
            out[field] = gender
        elif field == "email":
            if not _EMAIL.match(text_) or len(text_) > 254:
                raise InvalidProfile(field=field, reason="not an email address")
            out[field] = text_
        else:
            limit = 100 if field == "name" else 64
            if not text_ or len(text_) > limit or not text_.isprintable():
                raise InvalidProfile(field=field, reason=f"use 1 to {limit} printable characters")
            out[field] = text_
    return out


@dataclass(frozen=True, slots=True)
class Profile:
    """A member's profile and what it lacks to be complete."""

    member: int
    name: str | None
    gender: str | None
    birthday: dt.date | None
    city: str | None
    email: str | None
    missing: tuple[str, ...]
    completed_at: dt.datetime | None
    bonus_at: dt.datetime | None

    @property
    def complete(self) -> bool:
        return not self.missing

    def to_dict(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "name": self.name,
            "gender": self.gender,
            "birthday": self.birthday.isoformat() if self.birthday else None,
            "city": self.city,
            "email": self.email,
            "complete": self.complete,
            "missing": list(self.missing),
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "bonus_credited": self.bonus_at is not None,
        }


_READ = text(
    "SELECT name, gender, birthday, city, email, completed_at, bonus_at "
    "FROM member_profiles WHERE member_id = :member"
).columns(birthday=Date, completed_at=_TS, bonus_at=_TS)


def profile_of(conn: Connection, member: int, settings: LoyaltySettings) -> Profile:
    """The member's profile (empty when never updated)."""
    member = resolve_id(conn, member)
    row = conn.execute(_READ, {"member": member}).first()
    values = dict(row._mapping) if row is not None else {}
    missing = tuple(f for f in settings.profile_fields if values.get(f) is None)
    return Profile(
        member=member,
        name=values.get("name"),
        gender=values.get("gender"),
        birthday=values.get("birthday"),
        city=values.get("city"),
        email=values.get("email"),
        missing=missing,
        completed_at=from_db(values.get("completed_at")),
        bonus_at=from_db(values.get("bonus_at")),
    )


@dataclass(frozen=True, slots=True)
class ProfileUpdate:
    """What ``update_profile`` did: the profile now, the bonus credited by this call
    (0 when none), the balance, and the events raised."""

    profile: Profile
    bonus: int
    balance: int
    events: tuple[EventRef, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.profile.to_dict(),
            "bonus": self.bonus,
            "balance": self.balance,
            "events": [e.to_dict() for e in self.events],
        }


_ENSURE = text(
    "INSERT INTO member_profiles (member_id, updated_at) VALUES (:member, :now) "
    "ON CONFLICT (member_id) DO NOTHING"
).bindparams(bindparam("now", type_=_TS))
_PHONE = text("SELECT phone FROM members WHERE id = :member")
_COMPLETE = text(
    "UPDATE member_profiles SET completed_at = :now WHERE member_id = :member "
    "AND completed_at IS NULL"
).bindparams(bindparam("now", type_=_TS))
# The guard of the one-off bonus: only the transaction that flips bonus_at from NULL
# credits it (a concurrent one waits for the row and then matches nothing).
_CLAIM_BONUS = text(
    "UPDATE member_profiles SET bonus_at = :now WHERE member_id = :member AND bonus_at IS NULL"
).bindparams(bindparam("now", type_=_TS))


def update_profile(
    conn: Connection,
    member: int,
    settings: LoyaltySettings,
    now: dt.datetime,
    **fields: Any,
) -> ProfileUpdate:
    """Set profile fields of a member who has bound a phone (``phone_required``).

    Fields given as ``None`` are left as they are. When the profile becomes complete
    for the first time, the bonus is credited (ledger kind ``profile_bonus``) and a
    ``profile_completed`` event is written; never again after that, even after a merge.
    """
    member = lock_member(conn, member)  # before its profile row, as a merge does
    if conn.execute(_PHONE, {"member": member}).scalar() is None:
        raise PhoneRequired()
    values = clean_fields(fields, now.date())
    conn.execute(_ENSURE, {"member": member, "now": now})
    assignments = ", ".join(f"{f} = :{f}" for f in values)
    sets = assignments + ", " if assignments else ""
    stmt = text(f"UPDATE member_profiles SET {sets}updated_at = :now WHERE member_id = :member")
    stmt = stmt.bindparams(bindparam("now", type_=_TS))
    if "birthday" in values:
        stmt = stmt.bindparams(bindparam("birthday", type_=Date))
    conn.execute(stmt, {**values, "now": now, "member": member})
    profile = profile_of(conn, member, settings)
    raised: list[EventRef] = []
    bonus = 0
    if profile.complete:
        conn.execute(_COMPLETE, {"member": member, "now": now})  # the first time only
    if profile.complete and conn.execute(_CLAIM_BONUS, {"member": member, "now": now}).rowcount:
        bonus = settings.profile_bonus
        if bonus:
            points.credit(conn, member, bonus, "profile_bonus", "profile completed", now)
        raised.append(
            emit_moment(conn, "profile_completed", member, settings, now, points=bonus)
        )
        profile = profile_of(conn, member, settings)
    return ProfileUpdate(
        profile=profile,
        bonus=bonus,
        balance=points.balance_of(conn, member),
        events=tuple(raised),
    )
