"""Access and error logs as JSON lines on stderr.

A line never holds a code, a scan, a phone, a key or a request body: the access log
names the route's template (``/v1/redemptions``, never the raw path, which a caller
could fill with anything), the status, the time taken, the API key's id, and for a
scan only its serial and outcome. An exception is logged by its type and where it was
raised, never its message or traceback text (a driver's message can quote values).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import traceback
from typing import Any

ACCESS = logging.getLogger("loyalcode.access")
ERRORS = logging.getLogger("loyalcode.errors")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the record's
    ``fields`` (from ``extra={"fields": {...}}``) and an exception's type and place."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            line.update(exception_fields(record.exc_info[1]))
        return json.dumps(line, ensure_ascii=False, default=str)


def exception_fields(exc: BaseException) -> dict[str, Any]:
    """An exception's type and the innermost frame it came from: no message."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None
    return {"exception": f"{type(exc).__module__}.{type(exc).__qualname__}", "where": where}
