"""Channels: the distribution tree that codes are shipped through."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loyalcode.channels.errors import (
    ChannelExists,
    ChannelNotFound,
    InvalidChannelCode,
    InvalidChannelKind,
)
from loyalcode.channels.models import CHANNEL_KINDS, Channel
from loyalcode.channels.regions import RegionList, normalize_region
from loyalcode.errors import InvalidInput

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """A channel as callers see it."""

    code: str
    name: str
    kind: str
    region: str
    parent: str | None

    @classmethod
    def of(cls, row: Channel) -> ChannelInfo:
        return cls(
            code=row.code,
            name=row.name,
            kind=row.kind,
            region=row.region,
            parent=row.parent.code if row.parent is not None else None,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "region": self.region,
            "parent": self.parent,
        }


def get_channel(session: Session, code: str) -> Channel:
    """The channel with ``code``, or :class:`ChannelNotFound`."""
    row = session.scalar(select(Channel).where(Channel.code == code))
    if row is None:
        raise ChannelNotFound(channel=code)
    return row


def add_channel(
    session: Session,
    code: str,
    *,
    name: str,
    kind: str,
    region: str,
    parent: str | None = None,
    regions: RegionList | None = None,
) -> Channel:
    """Add a channel; the caller owns the transaction. ``region`` must be on
    ``regions`` (default: the shipped GB/T 2260 list), else ``invalid_region``."""
    if not isinstance(code, str) or _CODE.fullmatch(code) is None:
        raise InvalidChannelCode(value=code)
    if kind not in CHANNEL_KINDS:
        raise InvalidChannelKind(value=kind, choices=", ".join(CHANNEL_KINDS))
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("A channel needs a name of 1 to 200 characters.")
    region = normalize_region(region, regions)
    parent_row = get_channel(session, parent) if parent else None
    if session.scalar(select(Channel.id).where(Channel.code == code)) is not None:
        raise ChannelExists(channel=code)
    row = Channel(code=code, name=name, kind=kind, region=region, parent=parent_row)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # the unique constraint is the guard against a racing add
        raise ChannelExists(channel=code) from None
    return row


def list_channels(session: Session) -> list[ChannelInfo]:
    """Every channel, by code."""
    rows = session.scalars(select(Channel).order_by(Channel.code)).all()
    return [ChannelInfo.of(r) for r in rows]
