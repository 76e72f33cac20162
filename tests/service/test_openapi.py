"""The OpenAPI document: it validates, it names every route with its scope, its schemas
and its problem statuses, and schemathesis's generated requests against the live server
(SQLite) get no 5xx and no answer off the document."""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import make_key
from tests.service.support import Server

sqlite_only = pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
#: Generated requests per operation: about 30 operations, under a minute in all.
EXAMPLES = 25


def test_the_document_validates_and_lists_every_route(tmp_path: Any) -> None:
    from openapi_spec_validator import validate
    from starlette.routing import Route

    from loyalcode.service.app import ROUTERS, create_app
    from loyalcode.service.routes import health

    app = create_app(f"sqlite:///{tmp_path / 'none.db'}")  # the document needs no database
    doc = app.openapi()
    validate(doc)
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = {(route.path, method) for router in (health.router, *ROUTERS)
              for route in router.routes if isinstance(route, Route)
              for method in route.methods or () if method != "HEAD"}
    assert served == documented
    # every API route is documented; the consumer pages (the landing page, /verify,
    # /assets) are plain routes of their own, outside the API and its document
    from fastapi.routing import APIRoute

    assert {r.path for r in app.routes if isinstance(r, APIRoute)} <= {
        p for p, _ in documented} | {"/v1/openapi.json"}
    assert not {r.path for r in app.routes if isinstance(r, Route)
                and not isinstance(r, APIRoute) and r.path.startswith("/v1/")} - {"/v1/openapi.json"}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if not path.startswith("/v1/"):
                assert op["security"] == []
                continue
            assert op["x-scope"] in ("redeem", "members", "events", "logistics", "admin")
            assert op["security"] == [{"HTTPBearer": [op["x-scope"]]}]
            statuses = set(op["responses"])
            assert {"400", "401", "403", "422", "503"} <= statuses, (method, path)
            assert any(s.startswith("2") for s in statuses)
            if "{" in path:
                assert "404" in statuses, (method, path)
            for status, answer in op["responses"].items():
                if status.startswith(("4", "5")):
                    assert "application/problem+json" in answer["content"], (method, path)


@sqlite_only
def test_schemathesis_against_the_live_server(server: Server, ctx: Any) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import CHECKS

    token = make_key(ctx, "redeem", "members", "events", "logistics", "admin", name="fuzz")
    schema = schemathesis.openapi.from_url(f"{server.url}/v1/openapi.json")
    # A valid request may still be refused (422: an unknown member, a typo): that is
    # the API's answer, not a fault; everything else schemathesis checks stays on.
    excluded = [c for c in CHECKS.get_all() if c.__name__ in (
        "positive_data_acceptance", "missing_required_header", "unsupported_method")]
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def fuzz(case: Any) -> None:
            case.call_and_validate(base_url=server.url,
                                   headers={"Authorization": f"Bearer {token}"},
                                   excluded_checks=excluded)

        try:
            fuzz()
        except Exception as err:  # every operation's failure is reported, then the test fails
            failures.append(f"{operation.label}: {err}")
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
    assert not [r for r in server.records() if r.get("status", 0) >= 500]
