"""Warehouse tools over HTTP (scope ``logistics``): channels (list), activation of a
range, shipments scan by scan as a handheld works (open, one scan a request, close),
returns, and the customer-service lookup of visible serials. Activation as the
commands have it: both ends named (``"to": "end"`` for the end of the batch), the
earlier activations it replaces named, a dry run, and undo.
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
    """A range of a batch for a channel; the newest activation wins. Both ends are
    named: a missing end never means "the rest of the batch"."""

    batch: int = Field(ge=1, le=2**62)
    channel: str | None = Field(None, min_length=1, max_length=64,
                                description="Default: the batch's channel.")
    from_: Position = Field(alias="from",
                            description="First sequence (from 1) or a visible serial.")
    to: Position = Field(description="Last sequence (inclusive), a visible serial, or 'end'.")
    dry_run: bool = Field(False, description="Say what would happen; change nothing.")


class CoveredOut(BaseModel):
    activation: int
    channel: str | None
    codes: int


class ActivationOut(BaseModel):
    id: int | None
    kind: str = Field(description="activation | deactivation | undo")
    batch: int
    channel: str | None
    from_: int = Field(alias="from")
    to: int
    quantity: int
    serial_start: int
    serial_end: int
    created_at: str
    batch_status: str
    undoes: int | None
    undone_by: int | None
    replaces: list[CoveredOut]
    restores: list[CoveredOut]
    dry_run: bool = False


class UndoIn(Strict):
    dry_run: bool = Field(False, description="Say what would happen; change nothing.")


class _RolledBack(Exception):
    """A dry run's result, raised out of its transaction so that it rolls back."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__("dry run")
        self.result = result


def _maybe_dry(service: Any, work: Any, dry_run: bool, status: int) -> tuple[int, dict[str, Any]]:
    """``work(session)`` in a write transaction, committed, or rolled back for a dry run
    (the real call, so exactly what it would do)."""
    def run(session: Any) -> dict[str, Any]:
        out = work(session)
        if dry_run:
            raise _RolledBack(out)
        return out

    try:
        return status, service.write_session(run)
    except _RolledBack as rolled:
        return 200, {**rolled.result, "dry_run": True}


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
    """``activate``: bind sequences ``from..to`` of a batch to a channel (``replaces``
    names the earlier activations it took codes from; ``dry_run`` changes nothing, 200).
    422 ``batch_not_found``, ``channel_not_found``, ``batch_void``,
    ``range_outside_batch`` ..."""
    from loyalcode.channels import activation as act
    from loyalcode.codegen.batches import get_batch, require_not_void

    service = service_of(request)

    def activate(session: Any) -> dict[str, Any]:
        batch = get_batch(session, body.batch)
        require_not_void(batch)
        serials = act.visible_serials(session)
        first = act.parse_position(str(body.from_), batch, serials, name="from")
        last = (batch.quantity if str(body.to).strip().lower() == "end"
                else act.parse_position(str(body.to), batch, serials, name="to"))
        return act.activate(session, batch.id, channel=body.channel, seq_from=first,
                            seq_to=last).to_dict()

    return await answer(request, principal,
                        lambda: _maybe_dry(service, activate, body.dry_run, 201))


@router.get("/activations", response_model=list[ActivationOut],
            summary="The activation history", responses=problems())
async def list_activations(request: Request, batch: int | None = None,
                           _: Principal = Depends(require("logistics"))) -> JSONResponse:
    """``activation list``: every entry (activations, deactivations, undos), oldest
    first; ``batch`` for one batch's."""
    from loyalcode.channels.activation import activation_history

    service = service_of(request)
    rows = await service.run(lambda: service.read_session(
        lambda session: [a.to_dict() for a in activation_history(session, batch)]))
    return JSONResponse(rows)


@router.post("/activations/{activation_id}/undo", status_code=201, response_model=ActivationOut,
             summary="Undo an activation", responses=problems(404))
async def undo_activation(activation_id: PathId, body: UndoIn, request: Request,
                          principal: Principal = Depends(require("logistics"))) -> Response:
    """``activation undo``: reverse an entry still newest over every code it covers.
    404 ``activation_not_found``; 422 ``activation_superseded`` (names the later
    entries), ``activation_not_undoable``."""
    from loyalcode.channels.activation import undo

    service = service_of(request)

    def work(session: Any) -> dict[str, Any]:
        return in_path("activation_not_found", lambda: undo(session, activation_id).to_dict())

    return await answer(request, principal, lambda: _maybe_dry(service, work, body.dry_run, 201))


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
