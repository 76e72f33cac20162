"""``POST /v1/checks``: offline authenticity of up to 1,000 codes (scope ``redeem``).

The answer of ``loyalcode check --json``, per input: ``ok`` (authentic, not
necessarily live), ``typo``, ``malformed`` or ``forged``. Reads no code state and
writes nothing; with an ``Idempotency-Key`` a retry is recomputed, never stored (the
answer holds codes).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from loyalcode.codegen.checking import check_codes
from loyalcode.service.auth import Principal, require
from loyalcode.service.posts import answer
from loyalcode.service.problems import openapi_responses

router = APIRouter(prefix="/v1", tags=["checks"])
MAX_CODES = 1000
#: Checks this small run on the event loop (tens of microseconds each): no thread hop.
INLINE_CODES = 32


class ChecksIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    codes: list[Annotated[str, Field(max_length=2048)]] = Field(
        min_length=1, max_length=MAX_CODES,
        description="Scanned QR payloads or typed codes, up to 1,000.")


class CheckOut(BaseModel):
    input: str
    status: str = Field(description="ok | typo | malformed | forged")
    code: str | None = Field(description="The canonical grouped code when ok.")


class ChecksOut(BaseModel):
    ok: bool = Field(description="Every input is authentic.")
    results: list[CheckOut]


@router.post("/checks", response_model=ChecksOut, summary="Check codes offline",
             responses=openapi_responses(400, 401, 403, 422, 503))
async def create_check(
    body: ChecksIn, request: Request, principal: Principal = Depends(require("redeem"))
) -> Response:
    """Whether each input is an authentic code of this deployment (no state read)."""
    keyring = request.app.state.service.keyring

    def check() -> tuple[int, dict[str, Any]]:
        results = [{"input": r.input, "status": r.status, "code": r.code}
                   for r in check_codes(keyring, body.codes)]
        return 200, {"ok": all(r["status"] == "ok" for r in results), "results": results}

    return await answer(request, principal, check, keep_body=False,
                        in_thread=len(body.codes) > INLINE_CODES)
