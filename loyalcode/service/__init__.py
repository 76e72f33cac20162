"""The HTTP face: ``loyalcode serve`` runs :func:`loyalcode.service.app.create_app`.

A face over the library, like :mod:`loyalcode.cli` (the two never import each other):
JSON under ``/v1`` described by ``/v1/openapi.json``, API keys with scopes
(:mod:`.auth`), RFC 9457 problem documents with the library's stable codes
(:mod:`.problems`), ``Idempotency-Key`` on every POST (:mod:`.posts`), JSON-line logs
that hold no code, scan, phone or key (:mod:`.logs`), and one router per area in
:mod:`.routes`.
"""
