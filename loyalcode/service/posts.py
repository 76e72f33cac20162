"""How a POST route answers: its work in a database thread, its refusals as problem
documents, and ``Idempotency-Key`` (Stripe's model) around both.

A route hands :func:`answer` a function that does the work and returns ``(status,
body)``; a :class:`~loyalcode.errors.LoyalcodeError` it raises becomes the problem
document of the status rule. With an ``Idempotency-Key`` the first outcome is stored
and a retry with the same key and the same request gets it back
(``Idempotent-Replayed: true``) for 24 hours; another request under the key is 422
``idempotency_key_reused``. Outcomes that a retry should not see again (a throttle, a
database outage, a request racing its retry) are not kept.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.responses import Response

from loyalcode.access import idempotency
from loyalcode.errors import LoyalcodeError
from loyalcode.service.auth import Principal
from loyalcode.service.guard import log_facts
from loyalcode.service.problems import problem_body, raw_problem, status_of

IDEMPOTENCY_HEADER = "idempotency-key"
#: Outcomes that are never replayed: the retry must run again.
_NOT_KEPT = frozenset({400, 401, 403, 429})

Work = Callable[[], tuple[int, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: str
    error: LoyalcodeError | None = None
    replayed: bool = False

    def response(self) -> Response:
        headers = {"Idempotent-Replayed": "true"} if self.replayed else None
        if self.status >= 400:
            return raw_problem(self.status, self.body, headers, self.error)
        return Response(self.body, status_code=self.status, headers=headers,
                        media_type="application/json")


def _run(work: Work, facts: dict[str, Any]) -> Answer:
    try:
        status, body = work()
    except LoyalcodeError as err:
        facts["outcome"] = err.code
        status = status_of(err)
        return Answer(status, json.dumps(problem_body(err, status), ensure_ascii=False), err)
    return Answer(status, json.dumps(body, ensure_ascii=False))


def _kept(answer: Answer) -> bool:
    return answer.status < 500 and answer.status not in _NOT_KEPT and (
        answer.error is None or answer.error.code != "idempotency_key_in_progress")


async def answer(request: Request, principal: Principal, work: Work, *,
                 keep_body: bool = True, in_thread: bool = True,
                 stored: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Response:
    """Run ``work`` for this POST (idempotently when the request names a key).

    ``keep_body=False`` stores only that the request happened, and a replay runs the
    work again: for routes that write nothing and whose answer must not be stored
    (the offline check answers with codes). ``stored`` keeps a success's body as it
    returns it, for an answer with what must not be kept (a new API key's token).
    ``in_thread=False`` runs small CPU-only work on the event loop (no database).
    """
    service = request.app.state.service
    facts = log_facts(request.scope)
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        result = await service.run(lambda: _run(work, facts)) if in_thread else _run(work, facts)
        return result.response()
    idempotency.check_key(key)
    digest = idempotency.request_hash(principal.secret, request.method, request.url.path,
                                      await request.body())
    api_key = principal.key.id

    def run_idempotently() -> Answer:
        now = dt.datetime.now(dt.UTC)
        replay = service.write(lambda c: idempotency.claim(c, api_key, key, digest, now))
        if replay is not None:
            facts["outcome"] = "replayed"
            if replay.body is None:  # recomputed: the route keeps no answer
                again = _run(work, facts)
                return Answer(again.status, again.body, again.error, replayed=True)
            return Answer(replay.status, replay.body, replayed=True)
        try:
            result = _run(work, facts)
        except BaseException:
            service.write(lambda c: idempotency.release(c, api_key, key))
            raise
        if _kept(result):
            body = result.body if keep_body else None
            if body is not None and stored is not None and result.status < 400:
                body = json.dumps(stored(json.loads(body)), ensure_ascii=False)
            service.write(lambda c: idempotency.complete(c, api_key, key, result.status, body))
        else:
            service.write(lambda c: idempotency.release(c, api_key, key))
        return result

    return (await service.run(run_idempotently)).response()
