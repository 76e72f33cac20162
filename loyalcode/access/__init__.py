"""Who may call the HTTP API, and what a retried call gets back.

API keys (:mod:`loyalcode.access.apikeys`): named, scoped, revocable; only a hash of
each key's secret is stored, and the key is shown once, when it is created.
Idempotency records (:mod:`loyalcode.access.idempotency`): the first outcome of a POST
sent with an ``Idempotency-Key``, kept 24 hours, so a retry gets the original result.

A library package like the others (the CLI and the service are its faces): it owns
its tables (:mod:`loyalcode.access.models`) and its refusals
(:mod:`loyalcode.access.errors`).
"""
