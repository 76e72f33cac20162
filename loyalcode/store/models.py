"""The deployment row: the key's fingerprint, the visible-serial salt and the serial
counter, one row per database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from loyalcode.store.db import Base
from loyalcode.store.timeutil import UtcDateTime, now_utc


class Deployment(Base):
    """The one row that holds the key's fingerprint and the serial counter.

    ``next_serial`` is allocated with ``UPDATE ... RETURNING`` (never a
    ``SELECT max()`` then insert), so concurrent batch creations get disjoint ranges.
    """

    __tablename__ = "deployment"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_fingerprint: Mapped[str | None] = mapped_column(String(64))
    visible_salt: Mapped[str] = mapped_column(String(64))
    next_serial: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(
        UtcDateTime(), default=now_utc, server_default=func.now()
    )
