"""The rest of the API against a real server: members, gifts, the events feed,
logistics and admin; each route's success, its refusals and its scope."""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import make_key
from tests.service.support import Server, problem
from tests.shop import OTHER_PHONE, PHONE, PHONE_E164, Shop

#: Tests whose subject is the HTTP face: SQLite only (each server start costs seconds).
sqlite_only = pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)

SCOPES = ("redeem", "members", "events", "logistics", "admin")


@pytest.fixture
def keys(ctx: Any) -> dict[str, str]:
    """One key a scope."""
    return {scope: make_key(ctx, scope, name=f"{scope}-tool") for scope in SCOPES}


def _redeem(http: Any, shop: Shop, seq: int, phone: str = PHONE) -> dict[str, Any]:
    answer = http.post("/v1/redemptions", json={"scan": shop.code(seq), "phone": phone})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


@sqlite_only
def test_members_gifts_and_the_member_centre(server: Server, shop: Shop, ctx: Any,
                                             keys: dict[str, str]) -> None:
    from loyalcode.loyalty.gifts import add_gift
    from loyalcode.store.timeutil import utc

    with ctx.engine.begin() as conn:
        add_gift(conn, sku="MUG", name="Mug", points=15, stock=3, per_member_limit=None,
                 active_from=None, active_until=None, now=utc())
    with server.client(keys["redeem"]) as scan:
        member = _redeem(scan, shop, 1)["member"]
        _redeem(scan, shop, 2)
    with server.client(keys["members"]) as http:
        shown = http.get(f"/v1/members/{member}")
        assert shown.status_code == 200, shown.text
        body = shown.json()
        assert (body["id"], body["phone"], body["balance"], body["ledger_sum"]) == (
            member, PHONE_E164, 20, 20)
        assert body["tier"]["tier"] and body["profile"]["complete"] is False
        assert sum(lot["remaining"] for lot in body["lots"]) == 20
        assert all(lot["expires_on"] is None or len(lot["expires_on"]) == 10
                   for lot in body["lots"])
        found = http.post("/v1/members/search", json={"phone": PHONE})
        assert found.status_code == 200 and found.json()["id"] == member
        problem(http.post("/v1/members/search", json={"phone": OTHER_PHONE}), 422,
                "member_not_found")
        problem(http.post("/v1/members/search", json={}), 422, "invalid_input")
        problem(http.post("/v1/members/search", json={"phone": "12"}), 422, "invalid_phone")
        problem(http.get("/v1/members/999999"), 404, "member_not_found")
        problem(http.get("/v1/members/abc"), 400, "invalid_request")

        # bind an openid (a new member), then find it by openid
        bound = http.post("/v1/members/bind", json={"openid": "o-123", "phone_verified": True})
        assert bound.status_code == 201, bound.text
        other = bound.json()["member"]
        assert http.post("/v1/members/search", json={"openid": "o-123"}).json()["id"] == other
        again = http.post("/v1/members/bind", json={"openid": "o-123"})
        assert again.status_code == 200 and again.json()["created"] is False
        # binding the phone of the first member merges the openid-only member into it,
        # on the caller's word that the phone was verified (409 phone_unverified without)
        problem(http.post("/v1/members/bind", json={"openid": "o-123", "phone": PHONE}), 409,
                "phone_unverified")
        merged = http.post("/v1/members/bind", json={"openid": "o-123", "phone": PHONE,
                                                     "phone_verified": True})
        assert merged.status_code == 200, merged.text
        assert (merged.json()["member"], merged.json()["merged_from"]) == (member, other)
        assert http.get(f"/v1/members/{other}").json()["id"] == member  # merges followed
        problem(http.post("/v1/members/bind", json={}), 422, "invalid_input")
        # an external id of a member who has a phone cannot move: 409
        http.post("/v1/members/bind", json={"phone": OTHER_PHONE, "shop": "s-1",
                                            "phone_verified": True})
        problem(http.post("/v1/members/bind", json={"member": member, "shop": "s-1"}), 409,
                "identity_in_use")

        # the ledger, a page at a time
        first = http.get(f"/v1/members/{member}/ledger", params={"limit": 1}).json()
        assert len(first["entries"]) == 1 and first["has_more"] is True
        rest = http.get(f"/v1/members/{member}/ledger",
                        params={"after": first["next_after"], "limit": 10}).json()
        assert [e["delta"] for e in first["entries"] + rest["entries"]] == [10, 10]
        assert rest["has_more"] is False
        problem(http.get(f"/v1/members/{member}/ledger", params={"limit": 0}), 400,
                "invalid_request")
        problem(http.get("/v1/members/424242/ledger"), 404, "member_not_found")

        # gifts: profile first, then order and cancel
        gifts = http.get("/v1/gifts", params={"available": "true"}).json()
        assert [g["sku"] for g in gifts] == ["MUG"]
        problem(http.post("/v1/gift-orders", json={"member": member, "gift": "MUG"}), 422,
                "profile_incomplete")
        profile = http.post(f"/v1/members/{member}/profile", json={
            "name": "李雷", "gender": "male", "birthday": "1990-05-01", "city": "广州",
            "email": "li@example.com"})
        assert profile.status_code == 200, profile.text
        assert profile.json()["complete"] is True
        problem(http.post(f"/v1/members/{other + 1000}/profile", json={"city": "x"}), 404,
                "member_not_found")
        problem(http.post(f"/v1/members/{member}/profile", json={"gender": "robot"}), 422,
                "invalid_profile")
        balance = http.get(f"/v1/members/{member}").json()["balance"]
        order = http.post("/v1/gift-orders", json={"member": member, "gift": "MUG"})
        assert order.status_code == 201, order.text
        assert order.json()["balance"] == balance - 15
        problem(http.post("/v1/gift-orders", json={"member": member, "gift": "MUG",
                                                   "quantity": 3}), 422, "out_of_stock")
        problem(http.post("/v1/gift-orders", json={"member": member, "gift": "NOPE"}), 422,
                "gift_not_found")
        orders = http.get(f"/v1/members/{member}/orders").json()
        assert [(o["id"], o["status"]) for o in orders["orders"]] == [
            (order.json()["order"], "placed")]
        cancelled = http.post(f"/v1/gift-orders/{order.json()['order']}/cancel",
                              json={"reason": "changed mind"})
        assert cancelled.status_code == 200 and cancelled.json()["balance"] == balance
        problem(http.post(f"/v1/gift-orders/{order.json()['order']}/cancel", json={}), 422,
                "already_cancelled")
        problem(http.post("/v1/gift-orders/99999/cancel", json={}), 404, "order_not_found")

        # forget needs admin
        denied = problem(http.post(f"/v1/members/{member}/forget", json={}), 403, "scope_required")
        assert denied["scope"] == "admin"
    with server.client(keys["admin"]) as admin:
        erased = admin.post(f"/v1/members/{member}/forget", json={})
        assert erased.status_code == 200, erased.text
        assert erased.json()["member"] == member and other in erased.json()["merged"]
        problem(admin.get(f"/v1/members/{member}"), 403, "scope_required")
    with server.client(keys["members"]) as http:
        assert http.get(f"/v1/members/{member}").json()["phone"] is None
    shop.assert_balances_match_ledger()


@sqlite_only
def test_the_events_feed_and_acknowledgement(server: Server, shop: Shop,
                                             keys: dict[str, str]) -> None:
    with server.client(keys["redeem"]) as scan:
        for seq in range(1, 4):
            _redeem(scan, shop, seq)
    with server.client(keys["events"]) as http:
        seen: list[int] = []
        after = 0
        while True:
            page = http.get("/v1/events", params={"after": after, "limit": 2})
            assert page.status_code == 200, page.text
            body = page.json()
            seen += [e["id"] for e in body["events"]]
            after = body["next_after"]
            if not body["has_more"]:
                break
        assert len(seen) == len(set(seen)) == 4  # joined + 3 points_earned
        types = [e["type"] for e in http.get("/v1/events").json()["events"]]
        assert types == ["member_joined", "points_earned", "points_earned", "points_earned"]
        acked = http.post("/v1/events/ack", json={"ids": seen[:2]})
        assert acked.json() == {"acknowledged": seen[:2], "already": []}
        assert http.post("/v1/events/ack", json={"ids": seen[:1]}).json()["already"] == seen[:1]
        pending = http.get("/v1/events", params={"pending": "true"}).json()["events"]
        assert [e["id"] for e in pending] == seen[2:]
        problem(http.post("/v1/events/ack", json={"ids": [seen[-1], 999999]}), 422,
                "event_not_found")
        assert [e["id"] for e in http.get("/v1/events", params={"pending": "true"})
                .json()["events"]] == seen[2:]  # nothing acknowledged by the refused call
        problem(http.post("/v1/events/ack", json={"ids": []}), 400, "invalid_request")
        problem(http.get("/v1/events", params={"limit": 1001}), 400, "invalid_request")
        problem(http.get("/v1/events", headers={"Authorization": f"Bearer {keys['members']}"}),
                403, "scope_required")


@sqlite_only
def test_logistics_a_handheld_ships_a_case(server: Server, shop: Shop, ctx: Any,
                                           keys: dict[str, str], tmp_path: Any) -> None:
    from loyalcode.channels.cases import Gs1Settings, pack_by_sequence
    from loyalcode.codegen.visible import for_salt

    with ctx.session() as s, s.begin():
        packed = pack_by_sequence(s, Gs1Settings(company_prefix="0614141"), shop.batch,
                                  per_case=10, cases_per_pallet=None, actor="line")
    case = packed.cases[-1]  # units 991..1000: not activated yet
    visible = for_salt(ctx.visible_salt())
    with server.client(keys["logistics"]) as http:
        channels = http.get("/v1/channels").json()
        assert "GD-DIST" in [c["code"] for c in channels]
        opened = http.post("/v1/shipments", json={"channel": "SH-SHOP", "by": "scanner-7"})
        assert opened.status_code == 201, opened.text
        sid = opened.json()["id"]
        added = http.post(f"/v1/shipments/{sid}/scans", json={"code": case})
        assert added.status_code == 201 and added.json()["units"] == 10, added.text
        repeat = http.post(f"/v1/shipments/{sid}/scans", json={"code": case})
        assert repeat.status_code == 200 and repeat.json()["added"] is False
        problem(http.post(f"/v1/shipments/{sid}/scans", json={"code": "000000000000000000"}),
                422, "sscc_not_found")
        problem(http.post("/v1/shipments/99999/scans", json={"code": case}), 404,
                "shipment_not_found")
        closed = http.post(f"/v1/shipments/{sid}/close", json={"by": "scanner-7"})
        assert closed.status_code == 200, closed.text
        assert (closed.json()["status"], closed.json()["units"]) == ("closed", 10)
        assert http.get(f"/v1/shipments/{sid}").json()["status"] == "closed"
        problem(http.post(f"/v1/shipments/{sid}/close", json={}), 422, "shipment_closed")
        problem(http.get("/v1/shipments/99999"), 404, "shipment_not_found")
        problem(http.post("/v1/shipments", json={"channel": "NOPE"}), 422, "channel_not_found")

        # lookup by visible serial: the unit is in the case and the shipment
        serial = visible.encode(shop.serial_start + 999)
        looked = http.post("/v1/lookups", json={"serials": [serial, "not-a-serial"]})
        assert looked.status_code == 200, looked.text
        first, second = looked.json()["results"]
        assert (first["channel"], first["case"]) == ("SH-SHOP", case)
        assert [s["id"] for s in first["shipments"]] == [sid]
        assert second["status"] == "invalid"

        # activation of a range, by sequence or visible serial
        act = http.post("/v1/activations", json={"batch": shop.batch, "channel": "GD-DIST",
                                                 "from": 600, "to": visible.encode(
                                                     shop.serial_start + 609)})
        assert act.status_code == 201, act.text
        assert (act.json()["from"], act.json()["to"], act.json()["quantity"]) == (600, 610, 11)
        problem(http.post("/v1/activations", json={"batch": shop.batch, "channel": "GD-DIST",
                                                   "from": 5000, "to": "end"}), 422,
                "range_outside_batch")
        problem(http.post("/v1/activations", json={"batch": 9999, "from": 1, "to": 2}), 422,
                "batch_not_found")
        # both ends are named: a missing end never means "the rest of the batch"
        problem(http.post("/v1/activations", json={"batch": shop.batch, "from": 5}), 400,
                "invalid_request")
        # a dry run says what it would replace and changes nothing; then undo for real
        dry = http.post("/v1/activations", json={"batch": shop.batch, "channel": "SH-SHOP",
                                                 "from": 605, "to": 606, "dry_run": True})
        assert dry.status_code == 200 and dry.json()["dry_run"] is True
        assert [r["activation"] for r in dry.json()["replaces"]] == [act.json()["id"]]
        history = http.get("/v1/activations", params={"batch": shop.batch}).json()
        assert history[-1]["id"] == act.json()["id"]  # the dry run left no entry
        undone = http.post(f"/v1/activations/{act.json()['id']}/undo", json={})
        assert undone.status_code == 201 and undone.json()["kind"] == "undo", undone.text
        assert undone.json()["undoes"] == act.json()["id"]
        problem(http.post(f"/v1/activations/{act.json()['id']}/undo", json={}), 422,
                "activation_not_undoable")
        problem(http.post("/v1/activations/999999/undo", json={}), 404, "activation_not_found")
        again = http.post("/v1/activations", json={"batch": shop.batch, "channel": "GD-DIST",
                                                   "from": 600, "to": 610})
        assert again.status_code == 201 and again.json()["restores"] == [], again.text

        # returns deactivate: the unit's scan is not_activated
        returned = http.post("/v1/returns", json={"codes": [case]})
        assert returned.status_code == 201 and returned.json()["kind"] == "return"
        problem(http.post("/v1/channels", json={"code": "X", "name": "x", "kind": "retailer",
                                                "region": "31"}), 403, "scope_required")
    with server.client(keys["redeem"]) as scan:
        problem(scan.post("/v1/redemptions", json={"scan": shop.code(1000), "phone": PHONE}),
                422, "not_activated")
        assert _redeem(scan, shop, 605)["channel"] == "GD-DIST"


@sqlite_only
def test_admin_channels_batches_reports_and_keys(server: Server, shop: Shop,
                                                 keys: dict[str, str]) -> None:
    with server.client(keys["redeem"]) as scan:
        _redeem(scan, shop, 1)
    with server.client(keys["admin"]) as http:
        added = http.post("/v1/channels", json={"code": "BJ-01", "name": "北京", "kind":
                                                "retailer", "region": "110000"})
        assert added.status_code == 201, added.text
        assert added.json()["region"] == "11"
        problem(http.post("/v1/channels", json={"code": "BJ-01", "name": "again", "kind":
                                                "retailer", "region": "11"}), 422,
                "channel_exists")
        problem(http.post("/v1/channels", json={"code": "BJ-02", "name": "x", "kind":
                                                "retailer", "region": "99"}), 422,
                "invalid_region")
        created = http.post("/v1/batches", json={"sku": "TEA", "quantity": 10_000_000,
                                                 "points": 5, "channel": "BJ-01"})
        assert created.status_code == 201, created.text
        batch = created.json()
        assert (batch["quantity"], batch["channel"], batch["status"]) == (
            10_000_000, "BJ-01", "created")
        assert batch["timezone"]
        assert http.get(f"/v1/batches/{batch['id']}").json()["id"] == batch["id"]
        assert [b["id"] for b in http.get("/v1/batches").json()][:2] == [batch["id"],
                                                                           shop.batch]
        problem(http.get("/v1/batches/424242"), 404, "batch_not_found")
        problem(http.post("/v1/batches", json={"sku": "TEA", "quantity": 0, "points": 1}), 400,
                "invalid_request")
        problem(http.post("/v1/batches", json={"sku": "TEA", "quantity": 5, "points": 1,
                                               "channel": "NOPE"}), 422, "channel_not_found")
        for by in ("batch", "channel", "region", "day", "shipment"):
            rep = http.get("/v1/reports", params={"by": by})
            assert rep.status_code == 200 and rep.json()["by"] == by, rep.text
        by_batch = http.get("/v1/reports", params={"batch": shop.batch}).json()
        assert by_batch["rows"][0]["codes_redeemed"] == 1
        problem(http.get("/v1/reports", params={"by": "colour"}), 400, "invalid_request")

        made = http.post("/v1/apikeys", json={"name": "scanner", "scopes": ["logistics"]},
                         headers={"Idempotency-Key": "key-1"})
        assert made.status_code == 201 and made.json()["key"].startswith("lck_"), made.text
        replay = http.post("/v1/apikeys", json={"name": "scanner", "scopes": ["logistics"]},
                           headers={"Idempotency-Key": "key-1"})
        assert replay.status_code == 201 and replay.json()["key"] is None
        assert replay.json()["id"] == made.json()["id"]
        listed = http.get("/v1/apikeys").json()
        assert made.json()["id"] in [k["id"] for k in listed]
        assert "lck_" not in str(listed)
        with server.client(made.json()["key"]) as scanner:
            assert scanner.get("/v1/channels").status_code == 200
            revoked = http.post(f"/v1/apikeys/{made.json()['id']}/revoke", json={})
            assert revoked.status_code == 200 and revoked.json()["active"] is False
            problem(scanner.get("/v1/channels"), 401, "invalid_api_key")
        problem(http.post("/v1/apikeys/424242/revoke", json={}), 404, "api_key_not_found")
        problem(http.post("/v1/apikeys", json={"name": "x", "scopes": ["root"]}), 400,
                "invalid_request")
    with shop.ctx.engine.connect() as conn:
        from sqlalchemy import text

        stored = " ".join(str(r) for r in conn.execute(text("SELECT * FROM idempotency_records")))
    assert made.json()["key"] not in stored
    with server.client(keys["logistics"]) as other:
        problem(other.get("/v1/batches"), 403, "scope_required")
        problem(other.post("/v1/apikeys", json={"name": "x", "scopes": ["admin"]}), 403,
                "scope_required")


@sqlite_only
def test_every_route_needs_its_scope(server: Server, keys: dict[str, str]) -> None:
    """Each documented /v1 route refuses no key (401) and a key of every other scope (403)."""
    with server.client() as http:
        doc = http.get("/v1/openapi.json").json()
        for path, ops in doc["paths"].items():
            if not path.startswith("/v1/"):
                continue
            concrete = path.replace("{member_id}", "1").replace("{order_id}", "1") \
                .replace("{shipment_id}", "1").replace("{batch_id}", "1") \
                .replace("{key_id}", "1")
            for method, op in ops.items():
                scope = op["x-scope"]
                problem(http.request(method, concrete, json={}), 401, "api_key_required")
                for other in SCOPES:
                    if other == scope:
                        continue
                    denied = problem(http.request(method, concrete, json={}, headers={
                        "Authorization": f"Bearer {keys[other]}"}), 403, "scope_required")
                    assert denied["scope"] == scope
