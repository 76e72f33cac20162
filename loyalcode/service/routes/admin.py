"""Administration over HTTP (scope ``admin``): channels (add), batches (list, show,
create: O(1) rows whatever the quantity, so it answers at once), reports with the
CLI's groupings, and API keys (create, shown once; list; revoke)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from loyalcode.service.auth import Principal, require
from loyalcode.service.posts import answer
from loyalcode.service.routes.common import (
    Empty,
    PathId,
    Strict,
    in_path,
    now,
    problems,
    service_of,
)
from loyalcode.service.routes.logistics import ChannelOut

router = APIRouter(prefix="/v1", tags=["admin"])

Day = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")


class ChannelIn(Strict):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(description="distributor | wholesaler | retailer | ecommerce")
    region: str = Field(min_length=1, max_length=12, description="GB/T 2260 region code.")
    parent: str | None = Field(None, min_length=1, max_length=64)


class BatchIn(Strict):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=100_000_000)
    points: int = Field(ge=0, le=1_000_000)
    name: str | None = Field(None, max_length=200)
    gtin: str | None = Field(None, max_length=14)
    channel: str | None = Field(None, min_length=1, max_length=64)
    line: str | None = Field(None, max_length=64)
    produced_on: str | None = Day
    redeem_from: str | None = Day
    redeem_until: str | None = Day
    payload: str | None = Field(None, max_length=512,
                                description="QR payload template (default: the deployment's).")


class BatchOut(BaseModel):
    id: int
    serial_start: int
    serial_end: int = Field(description="Exclusive.")
    quantity: int
    sku: str
    name: str | None
    gtin: str | None
    points: int
    channel: str | None
    status: str
    timezone: str = Field(description="The business time zone the batch's days are in.")

    model_config = {"extra": "allow"}


class ReportOut(BaseModel):
    by: str
    batch: int | None
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None = None
    timezone: str | None = None


class KeyIn(Strict):
    name: str = Field(min_length=1, max_length=64)
    scopes: list[Literal["redeem", "members", "events", "logistics", "admin"]] = Field(
        min_length=1, max_length=5)


class KeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: str
    revoked_at: str | None
    active: bool


class CreatedKeyOut(KeyOut):
    key: str | None = Field(description="The token, shown in this answer only (null in a "
                                        "replay: only its hash is kept).")


def _batch(info: Any, zone: str) -> dict[str, Any]:
    return {**info.to_dict(), "timezone": zone}


def _zone(service: Any) -> str:
    from loyalcode.store.timeutil import business_zone_name

    return str(business_zone_name(service.context.config))


@router.post("/channels", status_code=201, response_model=ChannelOut, summary="Add a channel",
             responses=problems())
async def add_channel(body: ChannelIn, request: Request,
                      principal: Principal = Depends(require("admin"))) -> Response:
    """A channel of the distribution tree (422 ``channel_exists``, ``invalid_region``,
    ``channel_not_found`` for the parent ...)."""
    from loyalcode.channels.regions import RegionList
    from loyalcode.channels.tree import ChannelInfo
    from loyalcode.channels.tree import add_channel as add

    service = service_of(request)
    regions = RegionList.from_config(service.context.config)
    return await answer(request, principal, lambda: (201, service.write_session(
        lambda s: ChannelInfo.of(add(s, body.code, name=body.name, kind=body.kind,
                                     region=body.region, parent=body.parent,
                                     regions=regions)).to_dict())))


@router.get("/batches", response_model=list[BatchOut], summary="The batches",
            responses=problems())
async def list_batches(request: Request,
                       _: Principal = Depends(require("admin"))) -> JSONResponse:
    """Every batch, newest first."""
    from loyalcode.channels.batches import list_batches as batches

    service = service_of(request)
    zone = _zone(service)
    rows = await service.run(lambda: service.read_session(batches))
    return JSONResponse([_batch(r, zone) for r in rows])


@router.get("/batches/{batch_id}", response_model=BatchOut, summary="A batch",
            responses=problems(404))
async def get_batch(batch_id: PathId, request: Request,
                    _: Principal = Depends(require("admin"))) -> JSONResponse:
    from loyalcode.channels.batches import batch_info
    from loyalcode.codegen.batches import get_batch as get

    service = service_of(request)
    info = await service.run(lambda: in_path("batch_not_found", lambda: service.read_session(
        lambda s: batch_info(s, get(s, batch_id)))))
    return JSONResponse(_batch(info, _zone(service)))


@router.post("/batches", status_code=201, response_model=BatchOut, summary="Create a batch",
             responses=problems())
async def create_batch(body: BatchIn, request: Request,
                       principal: Principal = Depends(require("admin"))) -> Response:
    """``batch create``: a serial range, O(1) rows whatever the quantity."""
    from loyalcode.channels.batches import batch_info
    from loyalcode.channels.batches import create_batch as create

    service = service_of(request)
    template = body.payload if body.payload is not None else \
        service.context.config.payload_template
    zone = _zone(service)

    def work(s: Any) -> dict[str, Any]:
        row = create(s, sku=body.sku, quantity=body.quantity, points=body.points,
                     payload_template=template, name=body.name, gtin=body.gtin,
                     channel=body.channel, line=body.line, produced_on=body.produced_on,
                     redeem_from=body.redeem_from, redeem_until=body.redeem_until)
        return _batch(batch_info(s, row), zone)

    return await answer(request, principal, lambda: (201, service.write_session(work)))


@router.get("/reports", response_model=ReportOut, summary="Redemption report",
            responses=problems())
async def report(request: Request,
                 by: Literal["batch", "channel", "region", "day", "shipment"] = Query("batch"),
                 batch: int | None = Query(None, ge=1, le=2**62, description="Only this batch."),
                 _: Principal = Depends(require("admin"))) -> JSONResponse:
    """``report --json``: codes issued, activated, redeemed, rate, points, diversion and
    clone alerts, grouped ``by`` batch, channel, region, day (in the business time
    zone) or shipment."""
    from loyalcode.redemption.settings import RedemptionSettings
    from loyalcode.reports.report import build_report
    from loyalcode.reports.shipments import shipment_report

    service = service_of(request)
    settings = RedemptionSettings.from_config(service.context.config)

    def read(conn: Any) -> dict[str, Any]:
        if by == "shipment":
            rows = shipment_report(conn, batch=batch)
            return {"by": by, "batch": batch, "rows": [r.to_dict() for r in rows]}
        built = build_report(conn, by=by, batch=batch, tz=settings.tzinfo(),
                             tz_name=settings.timezone)
        return {**built.to_dict(), "timezone": settings.timezone}

    return JSONResponse(await service.run(lambda: service.read(read)))


@router.get("/apikeys", response_model=list[KeyOut], summary="The API keys",
            responses=problems())
async def list_keys(request: Request, _: Principal = Depends(require("admin"))) -> JSONResponse:
    """Ids, names, prefixes, scopes; never a secret."""
    from loyalcode.access.apikeys import list_keys as keys

    service = service_of(request)
    return JSONResponse([k.to_dict() for k in await service.run(lambda: service.read(keys))])


@router.post("/apikeys", status_code=201, response_model=CreatedKeyOut,
             summary="Create an API key", responses=problems())
async def create_key(body: KeyIn, request: Request,
                     principal: Principal = Depends(require("admin"))) -> Response:
    """The token is in this answer only; a replay (same ``Idempotency-Key``) answers
    the same key with ``key: null``, as only its hash is kept."""
    from loyalcode.access.apikeys import create_key as create

    service = service_of(request)

    def work() -> tuple[int, dict[str, Any]]:
        created = service.write(lambda conn: create(conn, body.name, list(body.scopes), now()))
        return 201, created.to_dict()

    return await answer(request, principal, work, stored=lambda b: {**b, "key": None})


@router.post("/apikeys/{key_id}/revoke", response_model=KeyOut, summary="Revoke an API key",
             responses=problems(404))
async def revoke_key(key_id: PathId, body: Empty, request: Request,
                     principal: Principal = Depends(require("admin"))) -> Response:
    """Refused (401) within ``[service] key_cache_seconds`` in every worker."""
    from loyalcode.access.apikeys import revoke_key as revoke

    service = service_of(request)
    return await answer(request, principal, lambda: (200, in_path("api_key_not_found", lambda: service.write(
        lambda conn: revoke(conn, str(key_id), dt.datetime.now(dt.UTC)).to_dict()))))
