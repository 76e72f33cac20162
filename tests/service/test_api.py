"""The HTTP API against a real server: the scan, the check, every status of the rule,
keys and scopes, idempotent retries, and logs that hold no code, phone or key."""

from __future__ import annotations

from typing import Any

import pytest

from loyalcode.access.apikeys import revoke_key
from tests.service.conftest import make_key
from tests.service.support import Server, problem
from tests.shop import OTHER_PHONE, PHONE, PHONE_E164, Shop

REDEEM = "/v1/redemptions"
#: Tests whose subject is the HTTP face, not the database: SQLite only (each server
#: start costs seconds of CI).
sqlite_only = pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)


def test_a_scan_is_credited_once_and_every_refusal_is_a_problem(
    server: Server, shop: Shop, token: str
) -> None:
    url = "HTTPS://LC.EXAMPLE.COM/C/" + shop.code(1)
    with server.client(token) as http:
        first = http.post(REDEEM, json={"scan": url, "phone": PHONE, "region": "440100"})
        assert first.status_code == 201, first.text
        body = first.json()
        assert (body["points"], body["balance"], body["channel"], body["sku"]) == (
            10, 10, "GD-DIST", "SERUM-50")
        assert body["diversion"] is False and body["joined"] is True
        assert {e["type"] for e in body["events"]} == {"member_joined", "points_earned"}

        # 409: the same member again (an idempotent repeat), then another member (a clone)
        again = problem(http.post(REDEEM, json={"scan": url, "phone": PHONE}), 409,
                        "already_redeemed")
        assert again["same_member"] is True
        clone = problem(http.post(REDEEM, json={"scan": url, "phone": OTHER_PHONE}), 409,
                        "already_redeemed")
        assert clone["same_member"] is False

        # 422: business refusals, each with the library's code
        code2 = shop.code(2)
        typo = code2[:-1] + ("0" if code2[-1] != "0" else "1")
        problem(http.post(REDEEM, json={"scan": typo, "phone": PHONE}), 422, "typo")
        problem(http.post(REDEEM, json={"scan": "hello", "phone": PHONE}), 422, "malformed")
        # (each refusal of a code counts against its scanner: three phones, limit 3)
        problem(http.post(REDEEM, json={"scan": shop.code(600), "phone": "13500135000"}), 422,
                "not_activated")
        problem(http.post(REDEEM, json={"scan": shop.code(3), "openid": "o-new"}), 422,
                "phone_required")
        problem(http.post(REDEEM, json={"scan": shop.code(3)}), 422, "identity_required")
        problem(http.post(REDEEM, json={"scan": shop.code(3), "phone": "12"}), 422,
                "invalid_phone")
        problem(http.post(REDEEM, json={"scan": shop.code(3), "phone": "13600136000",
                                        "purchase_channel": "NOPE"}), 422, "channel_not_found")

        # 400: the request breaks the schema (and the value is never echoed)
        for bad in ({"scan": 7, "phone": PHONE}, {"phone": PHONE},
                    {"scan": shop.code(3), "phone": PHONE, "points": 1000},
                    {"scan": shop.code(3), "phone_verified": "yes"}, [1, 2]):
            doc = problem(http.post(REDEEM, json=bad), 400, "invalid_request")
            assert doc["errors"] and all("input" not in e for e in doc["errors"])
            assert shop.code(3) not in str(doc)
        problem(http.post(REDEEM, content=b"{not json", headers={"content-type":
                                                                "application/json"}),
                400, "invalid_request")
        problem(http.post(REDEEM, content=b"scan=x", headers={
            "content-type": "application/x-www-form-urlencoded"}), 415, "unsupported_media_type")
        problem(http.post(REDEEM, json={"scan": "x" * 70000}), 413, "payload_too_large")
        problem(http.get("/v1/nothing-here"), 404, "not_found")
        problem(http.get(REDEEM), 405, "method_not_allowed")

        # 429: the throttle (3 failures for this source), with Retry-After
        for _ in range(3):
            problem(http.post(REDEEM, json={"scan": "junk", "phone": "13700137000",
                                            "source": "203.0.113.9"}), 422, "malformed")
        throttled = http.post(REDEEM, json={"scan": shop.code(4), "phone": "13700137000",
                                            "source": "203.0.113.9"})
        problem(throttled, 429, "throttled")
        assert int(throttled.headers["retry-after"]) >= 1

    # exactly one credit, ledger and balances agree
    assert shop.count("redemptions") == 1
    shop.assert_balances_match_ledger()


@sqlite_only
def test_junk_bodies_never_get_a_500(server: Server, shop: Shop, token: str) -> None:
    junk: list[Any] = [None, 0, "", [], {}, {"scan": None}, {"scan": ""}, {"scan": "\u0000"},
                       {"scan": "７ＫＸ４"}, {"scan": "https://x/c/" + "Z" * 2000, "phone": PHONE},
                       {"scan": shop.code(5), "phone": "+" + "9" * 31},
                       {"scan": shop.code(5), "phone": PHONE, "region": "ab"},
                       {"scan": shop.code(5), "phone": PHONE, "source": " "},
                       {"scan": shop.code(5), "openid": "\n"}]
    with server.client(token) as http:
        for body in junk:
            response = http.post(REDEEM, json=body)
            assert response.status_code in (400, 415, 422), (body, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert "Traceback" not in response.text


@sqlite_only
def test_checks_are_offline_and_need_the_scope(server: Server, shop: Shop, token: str) -> None:
    live, typo = shop.code(7), shop.code(8)[:-1] + "0"
    with server.client(token) as http:
        answer = http.post("/v1/checks", json={"codes": [live, typo, "x", shop.code(900)]})
        assert answer.status_code == 200, answer.text
        results = answer.json()["results"]
        assert [r["status"] for r in results][:3] == ["ok", "typo" if typo != shop.code(8)
                                                      else "ok", "malformed"]
        assert results[0]["code"].replace("-", "") == live
        assert results[3]["status"] == "ok"  # authentic, though not activated
        assert answer.json()["ok"] is False
        problem(http.post("/v1/checks", json={"codes": ["x"] * 1001}), 400, "invalid_request")
        problem(http.post("/v1/checks", json={"codes": []}), 400, "invalid_request")
    assert shop.count("redemptions") == 0


@sqlite_only
def test_keys_none_wrong_revoked_and_wrong_scope(server: Server, shop: Shop, ctx: Any,
                                                 token: str) -> None:
    import datetime as dt

    body = {"scan": shop.code(9), "phone": PHONE}
    with server.client() as http:
        missing = problem(http.post(REDEEM, json=body), 401, "api_key_required")
        assert missing["detail"]
        assert http.post(REDEEM, json=body).headers["www-authenticate"].startswith("Bearer")
        wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        problem(http.post(REDEEM, json=body, headers={"Authorization": f"Bearer {wrong}"}),
                401, "invalid_api_key")
        problem(http.post(REDEEM, json=body, headers={"Authorization": "Bearer nonsense"}),
                401, "invalid_api_key")
        problem(http.post(REDEEM, json=body, headers={"Authorization": f"Basic {token}"}),
                401, "api_key_required")
        members_only = make_key(ctx, "members", name="members-tool")
        denied = problem(http.post(REDEEM, json=body,
                                   headers={"Authorization": f"Bearer {members_only}"}),
                         403, "scope_required")
        assert denied["scope"] == "redeem"
        # a bad body with no key is still a 401: the key is looked at first
        problem(http.post(REDEEM, json={"scan": 1}), 401, "api_key_required")
        # every /v1 route needs a key
        problem(http.post("/v1/checks", json={"codes": ["x"]}), 401, "api_key_required")

        ok = http.post(REDEEM, json=body, headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 201, ok.text
        prefix = token.split("_")[1]
        with ctx.session() as s, s.begin():
            revoke_key(s.connection(), prefix, dt.datetime.now(dt.UTC))
        problem(http.post(REDEEM, json={"scan": shop.code(10), "phone": PHONE},
                          headers={"Authorization": f"Bearer {token}"}), 401, "invalid_api_key")
    assert shop.count("redemptions") == 1


def test_idempotent_replay_and_reuse(server: Server, shop: Shop, token: str) -> None:
    from sqlalchemy import text

    body = {"scan": shop.code(11), "phone": PHONE}
    with server.client(token) as http:
        first = http.post(REDEEM, json=body, headers={"Idempotency-Key": "order-1"})
        assert first.status_code == 201
        assert "idempotent-replayed" not in first.headers
        retry = http.post(REDEEM, json=body, headers={"Idempotency-Key": "order-1"})
        assert retry.status_code == 201  # the original result, not a 409
        assert retry.json() == first.json()
        assert retry.headers["idempotent-replayed"] == "true"
        other = {"scan": shop.code(12), "phone": PHONE}
        problem(http.post(REDEEM, json=other, headers={"Idempotency-Key": "order-1"}), 422,
                "idempotency_key_reused")
        # without the key, the same scan is a repeat: 409
        problem(http.post(REDEEM, json=body), 409, "already_redeemed")
        # a refusal is kept and replayed too
        bad = {"scan": shop.code(600), "phone": PHONE}
        problem(http.post(REDEEM, json=bad, headers={"Idempotency-Key": "order-2"}), 422,
                "not_activated")
        replayed = http.post(REDEEM, json=bad, headers={"Idempotency-Key": "order-2"})
        problem(replayed, 422, "not_activated")
        assert replayed.headers["idempotent-replayed"] == "true"
        problem(http.post(REDEEM, json=body, headers={"Idempotency-Key": ""}), 400,
                "invalid_idempotency_key")
        # a check's answer (codes) is recomputed, never stored
        checked = http.post("/v1/checks", json={"codes": [shop.code(13)]},
                            headers={"Idempotency-Key": "check-1"})
        again = http.post("/v1/checks", json={"codes": [shop.code(13)]},
                          headers={"Idempotency-Key": "check-1"})
        assert again.json() == checked.json() and again.headers["idempotent-replayed"] == "true"
        problem(http.post("/v1/checks", json={"codes": [shop.code(14)]},
                          headers={"Idempotency-Key": "check-1"}), 422, "idempotency_key_reused")
    assert shop.count("redemptions") == 1
    with shop.ctx.engine.connect() as conn:
        rows = conn.execute(text("SELECT key, status, response, request_hash "
                                 "FROM idempotency_records ORDER BY key")).all()
    assert [(r.key, r.status) for r in rows] == [("check-1", 200), ("order-1", 201),
                                                 ("order-2", 422)]
    stored = " ".join(str(v) for r in rows for v in r)
    for seq in (11, 12, 13, 14, 600):
        assert shop.code(seq) not in stored
    assert PHONE not in stored and PHONE_E164 not in stored


@sqlite_only
def test_openapi_health_and_readiness(server: Server, shop: Shop) -> None:
    with server.client() as http:
        spec = http.get("/v1/openapi.json").json()
        assert spec["openapi"].startswith("3.")
        assert {"/v1/redemptions", "/v1/checks", "/healthz", "/readyz"} <= set(spec["paths"])
        post = spec["paths"]["/v1/redemptions"]["post"]
        assert {"201", "400", "401", "403", "409", "422", "429", "503"} <= set(post["responses"])
        assert "phone_verified" in str(spec["components"]["schemas"]["RedemptionIn"])
        assert http.get("/docs").status_code == 404  # no docs page that would load a CDN
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        headers = http.get("/healthz").headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"
        assert "access-control-allow-origin" not in http.get(
            "/healthz", headers={"Origin": "https://evil.example"}).headers


@sqlite_only
def test_logs_hold_no_code_scan_phone_or_key(server: Server, shop: Shop, token: str) -> None:
    codes = [shop.code(n) for n in (20, 21, 22)]
    with server.client(token) as http:
        http.post(REDEEM, json={"scan": "https://lc.example.com/c/" + codes[0],
                                "phone": PHONE}, headers={"Idempotency-Key": "k-" + codes[2]})
        http.post(REDEEM, json={"scan": codes[0].lower(), "phone": OTHER_PHONE})
        http.post(REDEEM, json={"scan": codes[1][:-1] + "0", "phone": PHONE})
        http.post("/v1/checks", json={"codes": codes})
        http.get(f"/c/{codes[2]}?phone={PHONE}")  # a path with a code: a 404 logged
        http.post(REDEEM, json={"scan": codes[2], "phone": PHONE},
                  headers={"Authorization": "Bearer " + token + "x"})
    server.stop()
    log = server.log()
    records = server.records()
    assert any(r.get("serial") and r.get("outcome") == "credited" for r in records)
    assert any(r.get("outcome") == "already_redeemed" for r in records)
    secret = token.split("_", 2)[2]
    forbidden = [PHONE, PHONE_E164, OTHER_PHONE, token, secret]
    for code in codes:
        forbidden += [code, code.lower(), "-".join(code[i:i + 4] for i in range(0, 16, 4)),
                      code[:-1] + "0"]
    for item in forbidden:
        assert item not in log, item
