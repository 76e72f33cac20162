"""Warehouse tools over HTTP (scope ``logistics``): channels (list), activation of a
range, shipments scan by scan as a handheld works (open, one scan a request, close),
returns, and the customer-service lookup of visible serials.

TODO(issue 13, lead): ``POST /v1/activations`` with ``dry_run`` and
``POST /v1/activations/{id}/undo`` once ``channels/activation.py`` has the dry run and
undo calls; they do not exist on main yet, so only the activation itself is here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from loyalcode.service.auth import Principal, require
from loyalcode.service.posts import answer
from loyalcode.service.routes.common import PathId, Strict, in_path, problems, service_of

router = APIRouter(prefix="/v1", tags=["logistics"])

Actor = Field(None, min_length=1, max_length=64, description="Who scans (a person or device).")
Code = Annotated[str, Field(min_length=1, max_length=64)]
Position = int | Annotated[str, Field(min_length=1, max_length=32)]


class ChannelOut(BaseModel):
    code: str
    name: str
    kind: str
    region: str
    parent: str | None


class ActivationIn(Strict):
    """A range of a batch for a channel; the newest activation wins."""

    batch: int = Field(ge=1, le=2**62)
    channel: str | None = Field(None, min_length=1, max_length=64,
                                description="Default: the batch's channel.")
    from_: Position | None = Field(None, alias="from",
                                   description="First sequence (from 1) or a visible serial.")
    to: Position | None = Field(None, description="Last sequence (inclusive) or a visible serial.")


class ActivationOut(BaseModel):
    id: int
    batch: int
    channel: str
    from_: int = Field(alias="from")
    to: int
    quantity: int
    serial_start: int
    serial_end: int
    created_at: str
    batch_status: str


class ShipmentIn(Strict):
    channel: str = Field(min_length=1, max_length=64, description="The channel it goes to.")
    by: str | None = Actor


class ScanIn(Strict):
    code: Code = Field(description="An SSCC of a case or pallet, or a unit's visible serial.")


class CloseIn(Strict):
    by: str | None = Actor


class ReturnIn(Strict):
    codes: list[Code] = Field(min_length=1, max_length=1000)
    to_channel: str | None = Field(None, min_length=1, max_length=64,
                                   description="A warehouse channel (default: deactivate).")
    by: str | None = Actor


class ShipmentOut(BaseModel):
    id: int
    kind: str = Field(description="ship | return")
    status: str = Field(description="open | closed")
    channel: str | None
    opened_at: str
    opened_by: str | None
    closed_at: str | None
    closed_by: str | None
    scans: int
    units: int | None


class ScanOut(BaseModel):
    shipment: int
    kind: str = Field(description="case | pallet | unit")
    code: str
    units: int
    added: bool = Field(description="false: a repeated scan, which changed nothing.")


class LookupIn(Strict):
    serials: list[Annotated[str, Field(max_length=64)]] = Field(min_length=1, max_length=100)


class LookupOut(BaseModel):
    timezone: str
    results: list[dict[str, Any]] = Field(description="`lookup --json`'s lines, in order.")


@router.get("/channels", response_model=list[ChannelOut], summary="The channels",
            responses=problems())
async def list_channels(request: Request,
                        _: Principal = Depends(require("logistics"))) -> JSONResponse:
    from loyalcode.channels.tree import list_channels as channels

    service = service_of(request)
    rows = await service.run(lambda: service.read_session(channels))
    return JSONResponse([r.to_dict() for r in rows])


@router.post("/activations", status_code=201, response_model=ActivationOut,
             summary="Activate a range for a channel", responses=problems())
async def create_activation(body: ActivationIn, request: Request,
                            principal: Principal = Depends(require("logistics"))) -> Response:
    """``activate``: bind sequences ``from..to`` (default: the whole batch) of a batch
    to a channel. 422 ``batch_not_found``, ``channel_not_found``, ``batch_void``,
    ``range_outside_batch`` ..."""
    from loyalcode.channels import activation as act
    from loyalcode.codegen.batches import get_batch, require_not_void

    service = service_of(request)

    def activate(session: Any) -> dict[str, Any]:
        batch = get_batch(session, body.batch)
        require_not_void(batch)
        first = last = None
        if body.from_ is not None or body.to is not None:
            serials = act.visible_serials(session)
            if body.from_ is not None:
                first = act.parse_position(str(body.from_), batch, serials, name="from")
            if body.to is not None:
                last = act.parse_position(str(body.to), batch, serials, name="to")
        return act.activate(session, batch.id, channel=body.channel, seq_from=first,
                            seq_to=last).to_dict()

    return await answer(request, principal, lambda: (201, service.write_session(activate)))


@router.post("/shipments", status_code=201, response_model=ShipmentOut,
             summary="Open a shipment", responses=problems())
async def open_shipment(body: ShipmentIn, request: Request,
                        principal: Principal = Depends(require("logistics"))) -> Response:
    """Open a shipment to a channel; add scans, then close it."""
    from loyalcode.channels.shipping import open_shipment as open_

    service = service_of(request)
    return await answer(request, principal, lambda: (201, service.write_session(
        lambda s: open_(s, body.channel, actor=body.by).to_dict())))


@router.get("/shipments/{shipment_id}", response_model=ShipmentOut, summary="A shipment",
            responses=problems(404))
async def get_shipment(shipment_id: PathId, request: Request,
                       _: Principal = Depends(require("logistics"))) -> JSONResponse:
    from loyalcode.channels.shipping import shipment_info

    service = service_of(request)
    info = await service.run(lambda: in_path("shipment_not_found", lambda: service.read_session(
        lambda s: shipment_info(s, shipment_id))))
    return JSONResponse(info.to_dict())


@router.post("/shipments/{shipment_id}/scans", status_code=201, response_model=ScanOut,
             summary="Add a scan to an open shipment",
             responses={**problems(404),
                        200: {"model": ScanOut, "description": "A repeat: nothing changed."}})
async def add_scan(shipment_id: PathId, body: ScanIn, request: Request,
                   principal: Principal = Depends(require("logistics"))) -> Response:
    """One scan of the handheld: 201 when new, 200 for a repeat (which changes nothing).
    422 ``shipment_closed``, ``sscc_not_found``, ``unit_not_found`` ..."""
    from loyalcode.channels.activation import visible_serials
    from loyalcode.channels.shipping import add_scan as add

    service = service_of(request)

    def work() -> tuple[int, dict[str, Any]]:
        result = in_path("shipment_not_found", lambda: service.write_session(
            lambda s: add(s, shipment_id, body.code, visible_serials(s))))
        return (201 if result.added else 200), result.to_dict()

    return await answer(request, principal, work)


@router.post("/shipments/{shipment_id}/close", response_model=ShipmentOut,
             summary="Close a shipment (activates every unit inside)", responses=problems(404))
async def close_shipment(shipment_id: PathId, body: CloseIn, request: Request,
                         principal: Principal = Depends(require("logistics"))) -> Response:
    """Every unit inside is activated for the shipment's channel, in one transaction.
    422 ``shipment_closed``, ``shipment_empty``."""
    from loyalcode.channels.shipping import close_shipment as close

    service = service_of(request)
    return await answer(request, principal, lambda: (200, in_path("shipment_not_found", lambda: service.write_session(
        lambda s: close(s, shipment_id, actor=body.by).to_dict()))))


@router.post("/returns", status_code=201, response_model=ShipmentOut, summary="Returns",
             responses=problems())
async def create_return(body: ReturnIn, request: Request,
                        principal: Principal = Depends(require("logistics"))) -> Response:
    """``return``: deactivate the units inside the codes (a scan of one gets
    ``not_activated``), or move them to a warehouse channel."""
    from loyalcode.channels.activation import visible_serials
    from loyalcode.channels.shipping import return_units

    service = service_of(request)
    return await answer(request, principal, lambda: (201, service.write_session(
        lambda s: return_units(s, body.codes, visible_serials(s), to_channel=body.to_channel,
                               actor=body.by).to_dict())))


@router.post("/lookups", response_model=LookupOut, summary="Look up visible serials",
             responses=problems())
async def lookups(body: LookupIn, request: Request,
                  principal: Principal = Depends(require("logistics"))) -> Response:
    """``lookup --json`` for up to 100 visible serials (明码): batch, channel, case and
    shipments, redemption (phone masked), clone alert, state. Reads only."""
    from loyalcode.redemption.settings import RedemptionSettings
    from loyalcode.reports.lookup import lookup

    service = service_of(request)
    settings = RedemptionSettings.from_config(service.context.config)

    def work() -> tuple[int, dict[str, Any]]:
        def read(conn: Any) -> list[Any]:
            from sqlalchemy import select

            from loyalcode.store.models import Deployment

            salt = conn.execute(select(Deployment.visible_salt)).scalar_one()
            return lookup(conn, body.serials, str(salt), tz=settings.tzinfo())

        found = service.read(read)
        return 200, {"timezone": settings.timezone, "results": [f.to_dict() for f in found]}

    return await answer(request, principal, work, keep_body=False)
