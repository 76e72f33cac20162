"""The consumer pages' identity: a session, the consent to the privacy notice, and a
phone proven by a one-time code sent by SMS (:mod:`.sms`).

A session is a random token (the cookie) whose SHA-256 is the row's key; it lives
:data:`SESSION_DAYS` days. Consent (the notice's version and the time) is recorded on
the session before a phone is asked for, and on the member once the phone is proven.
A code is 6 digits, kept as a salted SHA-256, valid :data:`CODE_MINUTES` minutes and
:data:`MAX_ATTEMPTS` tries; a phone gets at most :data:`SENDS_PER_PHONE` codes and a
client address :data:`SENDS_PER_ADDRESS` an hour. The caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, Integer, String, bindparam, text

from loyalcode.loyalty.errors import LoyaltyError
from loyalcode.loyalty.members import create_member, phone_arg
from loyalcode.loyalty.phones import PhonePolicy
from loyalcode.store.timeutil import UtcDateTime

SESSION_DAYS = 30
CODE_MINUTES = 5
MAX_ATTEMPTS = 5
SENDS_PER_PHONE = 5
SENDS_PER_ADDRESS = 10
CODE_DIGITS = 6
_TS = UtcDateTime()


class ConsentRequired(LoyaltyError):
    code = "consent_required"
    template = "Read and accept the privacy notice first."


class SendLimited(LoyaltyError):
    code = "sms_limited"
    template = "Too many codes were sent: try again in an hour."
    retry_after = 3600


class CodeWrong(LoyaltyError):
    code = "sms_code_wrong"
    template = "The code is not right: {left} tries left."


class CodeLocked(LoyaltyError):
    code = "sms_code_locked"
    template = "Too many wrong codes: ask for a new code."


class CodeExpired(LoyaltyError):
    code = "sms_code_expired"
    template = "The code has expired or was already used: ask for a new code."


@dataclass(frozen=True, slots=True)
class PageSession:
    """A live session: its member once the phone is proven, the consent given."""

    member_id: int | None
    phone: str | None
    consent_version: str | None
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Challenge:
    """A code just created: its id (the form carries it) and the code (to send, never kept)."""

    id: int
    phone: str
    code: str


def _digest(text_: str) -> str:
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def _code_hash(salt: str, code: str) -> str:
    return hmac.new(salt.encode("ascii"), code.encode("ascii"), hashlib.sha256).hexdigest()


_INSERT_SESSION = text(
    "INSERT INTO page_sessions (token_hash, created_at, expires_at) VALUES (:h, :now, :until)"
).bindparams(bindparam("now", type_=_TS), bindparam("until", type_=_TS))
_SESSION = text(
    "SELECT s.member_id, m.phone, s.consent_version, s.expires_at FROM page_sessions s "
    "LEFT JOIN members m ON m.id = s.member_id WHERE s.token_hash = :h AND s.expires_at > :now"
).bindparams(bindparam("now", type_=_TS)).columns(
    member_id=Integer(), phone=String(), consent_version=String(), expires_at=_TS)
_CONSENT = text(
    "UPDATE page_sessions SET consent_version = :v, consented_at = :now WHERE token_hash = :h"
).bindparams(bindparam("now", type_=_TS))
_END = text("DELETE FROM page_sessions WHERE token_hash = :h")
_SENT_BY_PHONE = text(
    "SELECT count(*) FROM phone_challenges WHERE phone = :phone AND created_at > :since"
).bindparams(bindparam("since", type_=_TS))
_SENT_BY_ADDRESS = text(
    "SELECT count(*) FROM phone_challenges WHERE address_hash = :a AND created_at > :since"
).bindparams(bindparam("since", type_=_TS))
_INSERT_CHALLENGE = text(
    "INSERT INTO phone_challenges (session_hash, phone, address_hash, salt, code_hash, "
    "attempts, created_at, expires_at) VALUES (:h, :phone, :a, :salt, :code, 0, :now, :until) "
    "RETURNING id"
).bindparams(bindparam("now", type_=_TS), bindparam("until", type_=_TS))
_CHALLENGE = text(
    "SELECT phone, salt, code_hash, attempts, expires_at, verified_at FROM phone_challenges "
    "WHERE id = :id AND session_hash = :h"
).columns(phone=String(), salt=String(), code_hash=String(), attempts=Integer(),
          expires_at=_TS, verified_at=_TS)
_ATTEMPT = text("UPDATE phone_challenges SET attempts = attempts + 1 WHERE id = :id")
_VERIFIED = text(
    "UPDATE phone_challenges SET verified_at = :now WHERE id = :id AND verified_at IS NULL"
).bindparams(bindparam("now", type_=_TS))
_BIND_SESSION = text(
    "UPDATE page_sessions SET member_id = :m WHERE token_hash = :h")
_CONSENT_OF = text(
    "SELECT consent_version, consented_at FROM page_sessions WHERE token_hash = :h"
).columns(consent_version=String(), consented_at=_TS)
_RECORD_CONSENT = text(
    "INSERT INTO member_consents (member_id, version, consented_at) VALUES (:m, :v, :at)"
).bindparams(bindparam("at", type_=_TS))


def open_session(conn: Connection, now: dt.datetime) -> str:
    """A new session; returns the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    conn.execute(_INSERT_SESSION, {"h": _digest(token), "now": now,
                                   "until": now + dt.timedelta(days=SESSION_DAYS)})
    return token


def find_session(conn: Connection, token: str | None, now: dt.datetime) -> PageSession | None:
    """The live session of a cookie, else ``None``."""
    if not token or len(token) > 100:
        return None
    row = conn.execute(_SESSION, {"h": _digest(token), "now": now}).first()
    if row is None:
        return None
    return PageSession(member_id=row[0], phone=row[1], consent_version=row[2],
                       expires_at=row[3])


def record_consent(conn: Connection, token: str, version: str, now: dt.datetime) -> None:
    conn.execute(_CONSENT, {"h": _digest(token), "v": version, "now": now})


def end_session(conn: Connection, token: str) -> None:
    """Log out: the row goes."""
    conn.execute(_END, {"h": _digest(token)})


def start_challenge(conn: Connection, token: str, phone: str, address: str | None,
                    now: dt.datetime, phones: PhonePolicy | None = None) -> Challenge:
    """A new code for ``phone`` (any common format), to send; :class:`ConsentRequired`
    without consent on the session, :class:`SendLimited` past the hourly limits,
    ``invalid_phone``."""
    session = find_session(conn, token, now)
    if session is None or session.consent_version is None:
        raise ConsentRequired()
    e164 = phone_arg(phone, phones)
    since = now - dt.timedelta(hours=1)
    if conn.execute(_SENT_BY_PHONE, {"phone": e164, "since": since}).scalar_one() >= SENDS_PER_PHONE:
        raise SendLimited()
    address_hash = _digest(address) if address else None
    if address_hash is not None and conn.execute(
            _SENT_BY_ADDRESS, {"a": address_hash, "since": since}).scalar_one() >= SENDS_PER_ADDRESS:
        raise SendLimited()
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    salt = secrets.token_hex(16)
    challenge_id = conn.execute(_INSERT_CHALLENGE, {
        "h": _digest(token), "phone": e164, "a": address_hash, "salt": salt,
        "code": _code_hash(salt, code), "now": now,
        "until": now + dt.timedelta(minutes=CODE_MINUTES)}).scalar_one()
    return Challenge(id=int(challenge_id), phone=e164, code=code)


def attempt_code(conn: Connection, token: str, challenge_id: int, code: str,
                 now: dt.datetime) -> int | LoyaltyError:
    """Check a typed code. Right: the member of the phone (created if new) is bound to
    the session and its consent recorded; returns the member id. Wrong: the attempt is
    counted and the :class:`CodeWrong` (the last: :class:`CodeLocked`) is *returned* (the caller commits the count,
    then raises it). :class:`CodeLocked` after :data:`MAX_ATTEMPTS`,
    :class:`CodeExpired` when old, used or not this session's."""
    h = _digest(token)
    row = conn.execute(_CHALLENGE, {"id": challenge_id, "h": h}).first()
    if row is None:
        raise CodeExpired()
    phone, salt, code_hash, attempts, expires_at, verified_at = row
    if verified_at is not None or expires_at <= now:
        raise CodeExpired()
    if attempts >= MAX_ATTEMPTS:
        raise CodeLocked()
    typed = "".join(ch for ch in code if ch.isdigit())[:CODE_DIGITS]
    if not hmac.compare_digest(_code_hash(salt, typed), code_hash):
        conn.execute(_ATTEMPT, {"id": challenge_id})
        left = MAX_ATTEMPTS - attempts - 1
        return CodeWrong(left=left) if left > 0 else CodeLocked()
    if conn.execute(_VERIFIED, {"id": challenge_id, "now": now}).rowcount != 1:
        raise CodeExpired()
    member_id, _events = create_member(conn, phone, now, via="sms")
    conn.execute(_BIND_SESSION, {"m": member_id, "h": h})
    consent = conn.execute(_CONSENT_OF, {"h": h}).first()
    if consent is not None and consent[0] is not None:
        conn.execute(_RECORD_CONSENT, {"m": member_id, "v": consent[0], "at": consent[1]})
    return member_id


#: SMS codes are kept this long (the hourly send limits read the last hour; a day
#: leaves room to answer a complaint), then deleted with the phone they name.
KEEP_CHALLENGES = dt.timedelta(days=1)
_PURGE_CHALLENGES = text("DELETE FROM phone_challenges WHERE created_at < :before").bindparams(
    bindparam("before", type_=_TS))
_PURGE_SESSIONS = text("DELETE FROM page_sessions WHERE expires_at < :now").bindparams(
    bindparam("now", type_=_TS))


def purge(conn: Connection, now: dt.datetime) -> tuple[int, int]:
    """Delete SMS codes older than :data:`KEEP_CHALLENGES` and expired sessions;
    returns how many of each."""
    codes = conn.execute(_PURGE_CHALLENGES, {"before": now - KEEP_CHALLENGES}).rowcount
    sessions = conn.execute(_PURGE_SESSIONS, {"now": now}).rowcount
    return codes, sessions
