"""The points mall over HTTP (scope ``members``): ``GET /v1/gifts``,
``POST /v1/gift-orders``, ``POST /v1/gift-orders/{id}/cancel``, and
``GET /v1/members/{id}/orders`` (cursor pages)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from loyalcode.service.auth import Principal, require
from loyalcode.service.posts import answer
from loyalcode.service.routes.common import (
    After,
    EventRefOut,
    Limit,
    PathId,
    Strict,
    in_path,
    loyalty,
    now,
    problems,
    service_of,
)

router = APIRouter(prefix="/v1", tags=["gifts"])


class GiftOut(BaseModel):
    id: int
    sku: str
    name: str
    points: int
    stock: int
    per_member_limit: int | None
    active_from: str | None
    active_until: str | None
    active: bool


class OrderIn(Strict):
    member: int = Field(ge=1, le=2**62, description="The member who spends the points.")
    gift: int | str = Field(description="The gift's id or SKU.")
    quantity: int = Field(1, ge=1, le=1000)


class OrderOut(BaseModel):
    order: int
    member: int
    gift: int
    sku: str
    name: str
    quantity: int
    points: int
    balance: int
    stock: int
    events: list[EventRefOut]


class CancelIn(Strict):
    reason: str | None = Field(None, max_length=200, description="Why (kept in the ledger).")


class CancelOut(BaseModel):
    order: int
    member: int
    gift: int
    sku: str
    quantity: int
    points: int
    balance: int
    stock: int
    events: list[EventRefOut]


class OrderInfoOut(BaseModel):
    id: int
    member: int
    gift: int
    sku: str
    name: str
    quantity: int
    points: int
    status: str = Field(description="placed | cancelled")
    created_at: str
    cancelled_at: str | None


class OrdersPage(BaseModel):
    member: int
    orders: list[OrderInfoOut]
    next_after: int
    has_more: bool


@router.get("/gifts", response_model=list[GiftOut], summary="The gifts of the mall",
            responses=problems())
async def list_gifts(request: Request,
                     available: bool = Query(False, description="Only gifts redeemable now."),
                     _: Principal = Depends(require("members"))) -> JSONResponse:
    from loyalcode.loyalty.gifts import list_gifts as gifts

    service = service_of(request)
    found = await service.run(lambda: service.read(
        lambda conn: gifts(conn, available_at=now() if available else None)))
    return JSONResponse([g.to_dict() for g in found])


@router.post("/gift-orders", status_code=201, response_model=OrderOut, summary="Order a gift",
             responses=problems(409))
async def order_gift(body: OrderIn, request: Request,
                     principal: Principal = Depends(require("members"))) -> Response:
    """Spend a member's points on a gift (a bound phone and a complete profile needed):
    422 ``insufficient_points``, ``out_of_stock``, ``limit_reached``, ``gift_inactive``,
    ``gift_not_found``, ``member_not_found``, ``phone_required``, ``profile_incomplete``."""
    from loyalcode.loyalty.gifts import redeem_gift

    service = service_of(request)
    settings, _ = loyalty(service)

    def work() -> tuple[int, dict[str, Any]]:
        result = service.write(lambda conn: redeem_gift(
            conn, body.member, body.gift, settings, now(), quantity=body.quantity))
        return 201, result.to_dict()

    return await answer(request, principal, work)


@router.post("/gift-orders/{order_id}/cancel", response_model=CancelOut,
             summary="Cancel a gift order", responses=problems(404))
async def cancel_gift_order(order_id: PathId, body: CancelIn, request: Request,
                            principal: Principal = Depends(require("members"))) -> Response:
    """Refund the order's points and stock (422 ``already_cancelled``)."""
    from loyalcode.loyalty.gifts import cancel_order

    service = service_of(request)
    settings, _ = loyalty(service)

    def work() -> tuple[int, dict[str, Any]]:
        result = in_path("order_not_found", lambda: service.write(lambda conn: cancel_order(
            conn, order_id, settings, now(), reason=body.reason)))
        return 200, result.to_dict()

    return await answer(request, principal, work)


@router.get("/members/{member_id}/orders", response_model=OrdersPage,
            summary="A member's gift orders", responses=problems(404))
async def member_orders(member_id: PathId, request: Request, after: After = 0, limit: Limit = 100,
                        _: Principal = Depends(require("members"))) -> JSONResponse:
    """Orders oldest first, a page at a time (``after``: the last order id seen)."""
    from loyalcode.loyalty.gifts import orders_of

    service = service_of(request)
    member, orders = await service.run(lambda: in_path("member_not_found", lambda: service.read(
        lambda conn: orders_of(conn, member_id, after=after, limit=limit))))
    return JSONResponse({"member": member, "orders": [o.to_dict() for o in orders],
                         "next_after": orders[-1].id if orders else after,
                         "has_more": len(orders) == limit})
