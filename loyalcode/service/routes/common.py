"""What the routers of the later areas share: the problem statuses they document, the
path-id rule (a library ``*_not_found`` about an id in the path is 404), cursor
pagination parameters, and the deployment's settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Path, Query, Request
from pydantic import BaseModel, ConfigDict

from loyalcode.errors import LoyalcodeError
from loyalcode.service.problems import PathNotFound, openapi_responses

T = TypeVar("T")

#: Every route: a broken request, no key or a wrong one, a key without the scope, a
#: business refusal, the deployment away.
COMMON = (400, 401, 403, 422, 503)
#: A route with an id in its path adds 404.
WITH_ID = (*COMMON, 404)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The problem responses of a route: :data:`COMMON` and ``statuses``."""
    return openapi_responses(*sorted({*COMMON, *statuses}))


#: A page's size: 1 to 1,000, 100 by default.
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many (1 to 1,000).")]
#: The cursor: the last id of the previous page (0: from the start).
After = Annotated[int, Query(ge=0, le=2**62,
                             description="The last id of the previous page (0: from the start).")]
#: An id in a path (a larger number is no id: 400, never a database overflow).
PathId = Annotated[int, Path(ge=1, le=2**62, description="An id.")]


@contextmanager
def path_ids(code: str) -> Iterator[None]:
    """Inside: the library's ``code`` (a ``*_not_found``) is about the id in the path:
    404 with the same code. The same refusal about an id in the body stays 422."""
    try:
        yield
    except LoyalcodeError as err:
        if err.code == code and not isinstance(err, PathNotFound):
            raise PathNotFound(err) from None
        raise


def in_path(code: str, fn: Callable[[], T]) -> T:
    """``fn()`` under :func:`path_ids`."""
    with path_ids(code):
        return fn()


class Strict(BaseModel):
    """A request body: unknown members refused, no coercion."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Empty(Strict):
    """``{}``: every POST carries a JSON body, this one nothing more."""


class EventRefOut(BaseModel):
    id: int
    type: str


def service_of(request: Request) -> Any:
    return request.app.state.service


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def loyalty(service: Any) -> tuple[Any, dt.tzinfo]:
    """The loyalty settings and the business time zone of the deployment."""
    from loyalcode.loyalty.settings import LoyaltySettings
    from loyalcode.redemption.settings import RedemptionSettings

    config = service.context.config
    return LoyaltySettings.from_config(config), RedemptionSettings.from_config(config).tzinfo()
