"""The events feed over HTTP (scope ``events``): ``GET /v1/events?after=ID&limit=N``
and ``POST /v1/events/ack``.

A reader keeps the ``next_after`` of each page and asks again with it: it sees every
event exactly once, even on PostgreSQL where transactions commit out of id order
(:func:`loyalcode.events.outbox.feed`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from loyalcode.service.auth import Principal, require
from loyalcode.service.posts import answer
from loyalcode.service.routes.common import After, Limit, Strict, now, problems, service_of

router = APIRouter(prefix="/v1", tags=["events"])


class EventOut(BaseModel):
    id: int
    type: str
    member: int | None
    payload: dict[str, Any]
    created_at: str
    acknowledged_at: str | None


class FeedOut(BaseModel):
    events: list[EventOut]
    next_after: int = Field(description="The cursor for the next page.")
    has_more: bool = Field(description="A full page: ask again at once.")


class AckIn(Strict):
    ids: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(min_length=1, max_length=1000)


class AckOut(BaseModel):
    acknowledged: list[int]
    already: list[int] = Field(description="Acknowledged before.")


@router.get("/events", response_model=FeedOut, summary="The events feed",
            responses=problems())
async def list_events(request: Request, after: After = 0, limit: Limit = 100,
                      pending: bool = Query(False, description="Only unacknowledged events."),
                      _: Principal = Depends(require("events"))) -> JSONResponse:
    """Events after the cursor. On PostgreSQL the order is that of the writing
    transactions (an event waits until every older transaction has ended), so a reader
    who follows ``next_after`` never misses one that commits late; the cursor must be
    an event that still exists (422 ``event_not_found`` once purged)."""
    from loyalcode.events.outbox import feed

    service = service_of(request)
    page = await service.run(lambda: service.read(
        lambda conn: feed(conn, after=after, limit=limit, pending=pending)))
    return JSONResponse(page.to_dict())


@router.post("/events/ack", response_model=AckOut, summary="Acknowledge events",
             responses=problems())
async def ack_events(body: AckIn, request: Request,
                     principal: Principal = Depends(require("events"))) -> Response:
    """Mark events handled; acknowledging twice is harmless. An unknown id is 422
    ``event_not_found`` and acknowledges nothing."""
    from loyalcode.events.outbox import acknowledge

    service = service_of(request)

    def work() -> tuple[int, dict[str, Any]]:
        done = service.write(lambda conn: acknowledge(conn, body.ids, now()))
        return 200, {"acknowledged": done, "already": [i for i in body.ids if i not in done]}

    return await answer(request, principal, work)
