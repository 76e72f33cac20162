"""Connections kept per thread between calls, given back when the thread ends.

The redemption hot paths keep one database connection per thread (a pool checkout, or
a new connection, per scan costs more than the scan) in thread-local storage, which
lets go of it when the thread ends: :class:`Kept` then closes it. A service that runs
each request in a thread of its own therefore holds connections for the threads that
are alive, not for every thread that ever redeemed (the pool would run dry).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any


class Kept:
    """A connection and how to close it: closed once, by :meth:`release` or when the
    last reference goes (the thread that kept it ended, or its owner was dropped)."""

    __slots__ = ("__weakref__", "_close", "_conn")

    def __init__(self, conn: Any, close: Callable[[Any], None]) -> None:
        self._conn, self._close = conn, close

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._close(conn)

    def __del__(self) -> None:
        self.release()


class KeptSet:
    """The :class:`Kept` connections of one owner, held weakly (a thread's ending is
    enough to release its own), so that closing the owner releases those still kept."""

    def __init__(self) -> None:
        self._kept: weakref.WeakSet[Kept] = weakref.WeakSet()
        self._lock = threading.Lock()

    def add(self, conn: Any, close: Callable[[Any], None]) -> Kept:
        """Keep ``conn``; store the result in the thread's storage (its only strong
        reference)."""
        kept = Kept(conn, close)
        with self._lock:
            self._kept.add(kept)
        return kept

    def release_all(self) -> None:
        """Close every connection still kept."""
        with self._lock:
            kept, self._kept = list(self._kept), weakref.WeakSet()
        for k in kept:
            k.release()
