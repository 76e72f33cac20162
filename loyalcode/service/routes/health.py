"""Operations: ``/healthz`` (the process is up) and ``/readyz`` (the deployment
answers). Outside ``/v1`` and without a key, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import JSONResponse

from loyalcode.service.problems import openapi_responses
from loyalcode.store import db
from loyalcode.store.keys import KeySource
from loyalcode.store.models import Deployment

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> JSONResponse:
    """200 while the process serves requests (it reads nothing)."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz", summary="The deployment answers", responses=openapi_responses(503))
async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers, its schema is at this code's head and its key
    fingerprint is the key this worker holds; else 503 with the code that says why
    (``database_unavailable``, ``schema_out_of_date``, ``key_mismatch`` ...)."""
    service = request.app.state.service

    def check() -> str:
        engine = service.context.engine
        db.check_connection(engine)
        db.require_head(engine)
        fingerprint = service.read(
            lambda conn: conn.execute(select(Deployment.key_fingerprint)).scalar())
        service.keyring.verify(fingerprint or "", KeySource("the service's key"))
        return db.head_revision()

    revision = await service.run(check)
    return JSONResponse({"status": "ready", "schema": revision})
