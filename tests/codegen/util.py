"""Helpers shared by the codegen tests: database snapshots, ranges, distinct counts."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import inspect, text


def engine_for(url: str) -> Any:
    from loyalcode.store.db import make_engine

    return make_engine(url)


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as text, sorted: to show that nothing changed."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_table_names()
            out: dict[str, list[tuple[Any, ...]]] = {}
            for name in names:
                rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
                out[name] = sorted(tuple(str(v) for v in row) for row in rows)
            return out
    finally:
        engine.dispose()


def table_text(url: str) -> bytes:
    """All rows of all tables rendered as text (for scanning what the database holds)."""
    parts = []
    for name, rows in snapshot(url).items():
        parts.append(name)
        parts.extend("|".join(row) for row in rows)
    return "\n".join(parts).encode("utf-8")


def batch_ranges(url: str) -> tuple[list[tuple[int, int]], int]:
    """``([(serial_start, serial_end)], next_serial)`` of the database at ``url``."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            ranges = [
                (int(a), int(b))
                for a, b in conn.execute(
                    text("SELECT serial_start, serial_end FROM batches ORDER BY serial_start")
                )
            ]
            counter = int(conn.execute(text("SELECT next_serial FROM deployment")).scalar_one())
            return ranges, counter
    finally:
        engine.dispose()


def assert_ranges_consistent(url: str, first: int = 1) -> list[tuple[int, int]]:
    """Ranges are disjoint, tile ``[first, counter)`` with no gap, counter == max end."""
    ranges, counter = batch_ranges(url)
    expected = first
    for start, end in ranges:
        assert end > start
        assert start == expected, f"gap or overlap at {start} (expected {expected}): {ranges}"
        expected = end
    assert counter == expected, (counter, ranges[-3:])
    return ranges


def count_distinct_rows(chars: np.ndarray) -> int:
    """Number of distinct rows of an ``(n, 16)`` uint8 array (exact: sort and compare)."""
    w = np.ascontiguousarray(chars).view(np.uint64)  # (n, 2)
    order = np.lexsort((w[:, 1], w[:, 0]))
    s = w[order]
    return int((s[1:] != s[:-1]).any(axis=1).sum()) + 1 if len(s) else 0


def windows(codes: list[str], width: int = 8) -> set[bytes]:
    """Every ``width``-symbol window of every code, as bytes."""
    out: set[bytes] = set()
    for code in codes:
        b = code.encode("ascii")
        for i in range(len(b) - width + 1):
            out.add(b[i : i + width])
    return out


def find_windows(data: bytes, wanted: set[bytes], width: int = 8) -> set[bytes]:
    """Which of ``wanted`` occur anywhere in ``data``."""
    seen = {data[i : i + width] for i in range(len(data) - width + 1)}
    return seen & wanted
