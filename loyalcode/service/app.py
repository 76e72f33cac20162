"""The ASGI application: ``create_app()`` (uvicorn's factory) and the :class:`Service`
every route reaches through ``request.app.state.service``.

Each worker process opens the deployment once, at start-up: the database (a pool sized
for its threads), the settings, the key (verified against the database, else the
worker does not start), the schema (at head, else the same) and one
:class:`~loyalcode.redemption.redeem.Redeemer`. Database work runs in a bounded pool
of threads (``[service] threads``), each keeping its connection, as the Redeemer
does; the event loop only parses, routes and answers.

Routers, one per area, are mounted under ``/v1`` in :data:`ROUTERS`: redemptions,
checks, members, gifts, events, logistics, admin. The public consumer pages
(:mod:`loyalcode.service.pages`) are mounted after them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import Connection, exc
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.responses import Response

from loyalcode import __version__
from loyalcode.access import idempotency
from loyalcode.errors import LoyalcodeError
from loyalcode.loyalty import verification
from loyalcode.service.auth import KeyCache
from loyalcode.service.guard import Guard, log_facts
from loyalcode.service.logs import ERRORS
from loyalcode.service.pages import earn, landing, member
from loyalcode.service.pages.site import SiteSettings
from loyalcode.service.problems import (
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    problem_body,
    problem_response,
    raw_problem,
)
from loyalcode.service.routes import (
    admin,
    checks,
    events,
    gifts,
    health,
    logistics,
    members,
    redemptions,
)
from loyalcode.service.settings import ServiceSettings
from loyalcode.store import db
from loyalcode.store.config import database_url, load_config
from loyalcode.store.context import Context
from loyalcode.store.keys import Keyring

T = TypeVar("T")

#: The ``/v1`` routers, one per area.
ROUTERS = (redemptions.router, checks.router, members.router, gifts.router, events.router,
           logistics.router, admin.router)
#: How often each worker deletes idempotency records past their 24 hours.
PURGE_EVERY_SECONDS = 600


class Service:
    """One worker's deployment: context, key, Redeemer, settings, and the threads
    that do database work."""

    def __init__(self, url: str, settings: ServiceSettings) -> None:
        from loyalcode.redemption.redeem import Redeemer

        self.settings = settings
        # Each thread keeps a connection for the Redeemer and may take one more for
        # keys and idempotency records.
        engine = db.make_engine(url, pool_size=2 * settings.threads, max_overflow=4)
        self.context = Context(url=url, engine=engine, config=load_config(url))
        try:
            self.context.require_database()
            db.require_head(engine)
            self.keyring: Keyring = self.context.keyring()
            self.redeemer = Redeemer(self.context)
        except exc.DBAPIError as err:
            engine.dispose()
            raise db.typed_error(engine, err) from None
        except BaseException:
            engine.dispose()
            raise
        self.keys = KeyCache(settings.key_cache_seconds)
        self.limiter = anyio.CapacityLimiter(settings.threads)

    async def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` in a database thread. A request that times out stops waiting; the
        thread finishes its transaction (and its idempotency record) regardless."""
        return await anyio.to_thread.run_sync(fn, limiter=self.limiter, abandon_on_cancel=True)

    def read(self, fn: Callable[[Connection], T]) -> T:
        """``fn(conn)`` in a read-only transaction (in a database thread)."""
        try:
            with self.context.engine.connect() as conn:
                conn = conn.execution_options(sqlite_deferred=True)
                with conn.begin():
                    return fn(conn)
        except exc.DBAPIError as err:
            raise db.typed_error(self.context.engine, err) from None

    def write(self, fn: Callable[[Connection], T]) -> T:
        """``fn(conn)`` in a transaction that may write (in a database thread)."""
        try:
            with self.context.engine.begin() as conn:
                return fn(conn)
        except exc.DBAPIError as err:
            raise db.typed_error(self.context.engine, err) from None

    def read_session(self, fn: Callable[[Session], T]) -> T:
        """``fn(session)`` in a read-only transaction, for the library calls that take
        an ORM session (channels, batches, shipments)."""
        return self.read(lambda conn: _in_session(conn, fn))

    def write_session(self, fn: Callable[[Session], T]) -> T:
        """``fn(session)`` in a transaction that may write; flushed before the commit."""
        return self.write(lambda conn: _in_session(conn, fn))

    def close(self) -> None:
        self.redeemer.close()
        self.context.dispose()


def _in_session(conn: Connection, fn: Callable[[Session], T]) -> T:
    with Session(bind=conn, expire_on_commit=False) as session:  # joins conn's transaction
        result = fn(session)
        session.flush()
        return result


def create_app(database: str | None = None) -> FastAPI:
    """The application for the deployment at ``database`` (else
    ``LOYALCODE_DATABASE_URL``, else the SQLite default). Opened at start-up."""
    url = database_url(database)
    config = load_config(url)
    settings = ServiceSettings.from_config(config)
    site = SiteSettings.from_config(config)
    earning = earn.earn_settings(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = await anyio.to_thread.run_sync(Service, url, settings)
        app.state.service = service
        app.state.landing = await anyio.to_thread.run_sync(landing.open_landing, service, site)
        app.state.earn = earning
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_purge_idempotency, service)
            tasks.start_soon(landing.refresh_forever, service, app.state.landing)
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()
        await anyio.to_thread.run_sync(service.close)

    app = FastAPI(
        title="loyalcode",
        version=__version__,
        summary="One-item-one-code (一物一码) redemption over HTTP.",
        description=(
            "Every `/v1` route needs an API key (`Authorization: Bearer <key>`, from "
            "`loyalcode apikey create`) with the route's scope. Errors are RFC 9457 "
            "problem documents carrying the stable `code` of the library and CLI. "
            "Every POST takes an `Idempotency-Key`."
        ),
        openapi_url="/v1/openapi.json",
        docs_url=None,  # the interactive docs load from a CDN: none, rather than that
        redoc_url=None,
        lifespan=lifespan,
    )
    app.include_router(health.router)
    for router in ROUTERS:
        app.include_router(router)
    # The consumer pages last: their payload forms match any path a batch's template makes.
    app.router.routes.extend(earn.routes())
    app.router.routes.extend(member.routes())
    app.router.routes.extend(landing.routes())
    _handlers(app)
    _document_scopes(app)
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        )
    app.add_middleware(Guard, settings=settings)
    return app


def _document_scopes(app: FastAPI) -> None:
    """Each route's scope in the OpenAPI document: ``x-scope``, its security
    requirement (OpenAPI 3.1: the roles of the bearer scheme), and the sentence in its
    description."""
    from fastapi.openapi.utils import get_openapi
    from fastapi.routing import APIRoute

    from loyalcode.service.auth import scope_of

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, summary=app.summary,
                          description=app.description, routes=app.routes)
        for route in (r for router in (health.router, *ROUTERS) for r in router.routes):
            if not isinstance(route, APIRoute):
                continue
            scope = scope_of(route.dependant.dependencies)
            for method in route.methods or ():
                op = doc["paths"][route.path_format].get(method.lower())
                if op is None:
                    continue
                if scope is None:
                    op["security"] = []
                    continue
                op["x-scope"] = scope
                op["security"] = [{"HTTPBearer": [scope]}]
                op["description"] = (op.get("description", "") +
                                     f"\n\nScope: `{scope}`.").strip()
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _handlers(app: FastAPI) -> None:
    """Every refusal as a problem document of the status rule."""

    async def refused(request: Request, err: Exception) -> Response:
        assert isinstance(err, LoyalcodeError)
        log_facts(request.scope).setdefault("outcome", err.code)
        return problem_response(err)

    async def invalid(request: Request, err: Exception) -> Response:
        assert isinstance(err, RequestValidationError)
        # where and why, never the offending value (it can be a code or a phone)
        problems = [{"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": e.get("msg")}
                    for e in err.errors()]
        first = problems[0] if problems else {"loc": [], "msg": "invalid"}
        where = ".".join(str(p) for p in first["loc"])
        refusal = InvalidRequest(detail=f"{where}: {first['msg']}")
        log_facts(request.scope)["outcome"] = refusal.code
        body = {**problem_body(refusal), "errors": problems}
        return raw_problem(400, json.dumps(body, ensure_ascii=False))

    async def http(request: Request, err: Exception) -> Response:
        assert isinstance(err, HTTPException)
        if isinstance(err.__cause__, LoyalcodeError):  # raised while reading the body
            return await refused(request, err.__cause__)
        mapped: LoyalcodeError
        if err.status_code == 404:
            mapped = NotFound()
        elif err.status_code == 405:
            mapped = MethodNotAllowed()
        else:
            mapped = InvalidRequest(detail=str(err.detail))
        return await refused(request, mapped)

    app.add_exception_handler(LoyalcodeError, refused)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http)


async def _purge_idempotency(service: Service) -> None:
    """Delete idempotency records past their 24 hours, now and then; and the pages' SMS
    codes past a day and their expired sessions (:func:`~loyalcode.loyalty.verification.purge`)."""
    while True:
        try:
            await service.run(lambda: service.write(
                lambda c: idempotency.purge(c, dt.datetime.now(dt.UTC))))
            await service.run(lambda: service.write(
                lambda c: verification.purge(c, dt.datetime.now(dt.UTC))))
        except LoyalcodeError as err:  # the database is away: try again next time
            ERRORS.warning("idempotency purge failed", extra={"fields": {"outcome": err.code}})
        await anyio.sleep(PURGE_EVERY_SECONDS)
