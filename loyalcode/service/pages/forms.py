"""The pages' forms: urlencoded bodies, and the CSRF check every page POST passes.

A form page sets a random token in a ``SameSite=Strict`` cookie and in a hidden field
(:func:`csrf_token`, :func:`with_csrf_cookie`); the POST must carry both, equal
(the double-submit pattern), and must not come from another site by what the browser
says (``Sec-Fetch-Site``, else ``Origin`` against ``Host``). Pages that credit points
(the next pages) use the same two calls.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from loyalcode.errors import LoyalcodeError

CSRF_COOKIE = "lc_csrf"
CSRF_FIELD = "csrf"
_TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)
#: A page form is small: more than this is refused before it is parsed.
MAX_FORM_BYTES = 4096


class CsrfFailed(LoyalcodeError):
    code = "csrf_failed"
    template = "The form could not be verified: open the page again, then send it."


class FormTooLarge(LoyalcodeError):
    code = "payload_too_large"
    template = "The form is larger than {limit} bytes."


def csrf_token(request: Request) -> str:
    """The request's token (its cookie when well formed, else a new one)."""
    token = request.cookies.get(CSRF_COOKIE, "")
    if len(token) == _TOKEN_LENGTH and token.replace("-", "").replace("_", "").isalnum():
        return token
    return secrets.token_urlsafe(32)


def with_csrf_cookie(response: Response, request: Request, token: str) -> Response:
    """Set the token cookie (``Secure`` when the page was served over HTTPS)."""
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure,
                        path="/")
    return response


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded body, first value of each name (UTF-8; junk bytes replaced)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge(limit=MAX_FORM_BYTES)
    form: dict[str, str] = {}
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(name, value)
    return form


def check_csrf(request: Request, form: dict[str, str]) -> None:
    """:class:`CsrfFailed` unless the POST came from this site's own form."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise CsrfFailed()
    origin = request.headers.get("origin")
    if (site is None and origin is not None and origin != "null"
            and urlsplit(origin).netloc != request.headers.get("host")):
        raise CsrfFailed()
    cookie = request.cookies.get(CSRF_COOKIE, "")
    field = form.get(CSRF_FIELD, "")
    if len(cookie) != _TOKEN_LENGTH or not hmac.compare_digest(cookie.encode(), field.encode()):
        raise CsrfFailed()
