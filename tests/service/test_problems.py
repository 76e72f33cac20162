"""The status rule: one table; conflicts 409, throttle 429, the rest of the refusals 422."""

from __future__ import annotations

from loyalcode.errors import DatabaseUnavailable, InvalidInput
from loyalcode.loyalty.errors import GiftNotFound, IdentityInUse
from loyalcode.redemption.errors import AlreadyRedeemed, Throttled
from loyalcode.redemption.errors import error_codes as scan_codes
from loyalcode.service.problems import STATUS, PathNotFound, problem_body, status_of


def test_statuses_of_the_rule() -> None:
    assert status_of(AlreadyRedeemed(same_member=True)) == 409
    assert status_of(IdentityInUse(kind="openid")) == 409
    assert status_of(Throttled(retry_after=5)) == 429
    assert status_of(DatabaseUnavailable(url="x", reason="down")) == 503
    assert status_of(InvalidInput("bad")) == 422
    # every scan refusal but the conflicts (a redeemed code, an identity held by another
    # member or not yet verified) and the throttle is a business refusal
    for code in scan_codes():
        if code not in ("already_redeemed", "throttled", "identity_in_use", "phone_unverified"):
            assert code not in STATUS or STATUS[code] == 422, code


def test_a_problem_carries_the_code_and_the_facts() -> None:
    body = problem_body(Throttled(retry_after=5))
    assert (body["code"], body["status"], body["retry_after"]) == ("throttled", 429, 5)
    assert body["type"] == "urn:loyalcode:problem:throttled" and body["detail"]
    assert "message" not in body


def test_an_id_from_the_path_is_a_404_with_the_library_code() -> None:
    err = GiftNotFound(gift="TEA")
    wrapped = PathNotFound(err)
    assert status_of(wrapped) == 404 and wrapped.code == "gift_not_found"
    assert problem_body(wrapped)["code"] == "gift_not_found"
    assert status_of(err) == 422  # the same refusal about an id in a body
