"""SQL written once with ``:name`` parameters, rendered for the driver at hand.

The hot paths (the scan, its PostgreSQL fast path, the tier check) write their
statements as text; :func:`render` turns them into what the driver wants (sqlite3 takes
``:name``, psycopg wants ``%(name)s``), once per statement, not per call.
"""

from __future__ import annotations

import re

_PARAM = re.compile(r"(?<![:\w]):(\w+)")


def render(sql: str, pg: bool) -> str:
    """``sql`` in the parameter style of the database's driver."""
    return _PARAM.sub(r"%(\1)s", sql) if pg else sql
