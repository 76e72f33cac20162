"""Sending a phone its one-time code: the ``[sms]`` table of ``loyalcode.toml``.

``backend = "file"`` (development and tests) appends one JSON line per message to
``file`` (created 0600; never the server log); ``backend = "webhook"`` POSTs
``{"phone": ..., "code": ..., "template": "verify"}`` to ``url``, signed like the
event webhooks: ``X-Loyalcode-Signature: sha256=<hex HMAC-SHA256 of the body>`` under
the secret in the environment variable ``secret_env``. ``backend = "none"`` (the
default) sends nothing: the pages then refuse phone verification (``sms_unavailable``).

>>> SmsSettings().backend
'none'
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from loyalcode.errors import ConfigError, LoyalcodeError
from loyalcode.store.config import Config

BACKENDS = ("none", "file", "webhook")


class SmsUnavailable(LoyalcodeError):
    code = "sms_unavailable"
    template = "The code could not be sent by SMS now: try again in a few minutes."


@dataclass(frozen=True, slots=True)
class SmsSettings:
    backend: str = "none"
    #: ``file``: where messages are appended (relative to loyalcode.toml).
    file: str | None = None
    #: ``webhook``: the brand's SMS gateway.
    url: str | None = None
    #: ``webhook``: the environment variable holding the signing secret.
    secret_env: str = "LOYALCODE_SMS_SECRET"
    timeout: float = 5.0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(detail=f"sms.backend must be one of {', '.join(BACKENDS)}")
        if self.backend == "file" and not isinstance(self.file, str):
            raise ConfigError(detail='sms.file is required with backend = "file"')
        if self.backend == "webhook" and not (
                isinstance(self.url, str) and self.url.startswith(("https://", "http://"))):
            raise ConfigError(detail='sms.url (http or https) is required with backend = "webhook"')

    @classmethod
    def from_config(cls, config: Config) -> SmsSettings:
        section: dict[str, Any] = dict(config.section("sms"))
        unknown = set(section) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(detail=f"unknown key(s) in [sms]: {', '.join(sorted(unknown))}")
        if isinstance(section.get("file"), str):
            section["file"] = str(config.path.parent / section["file"])
        return cls(**section)


def send_code(settings: SmsSettings, phone: str, code: str) -> None:
    """Send ``code`` to ``phone`` (E.164) or :class:`SmsUnavailable`."""
    message = {"phone": phone, "code": code, "template": "verify"}
    if settings.backend == "file":
        assert settings.file is not None
        path = Path(settings.file)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (json.dumps(message) + "\n").encode("utf-8"))
        finally:
            os.close(fd)
        return
    if settings.backend == "webhook":
        assert settings.url is not None
        secret = os.environ.get(settings.secret_env, "")
        if not secret:
            raise SmsUnavailable()
        body = json.dumps(message, separators=(",", ":")).encode("utf-8")
        signature = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(settings.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Loyalcode-Signature": f"sha256={signature}"})
        try:
            with urllib.request.urlopen(request, timeout=settings.timeout) as response:
                if not 200 <= response.status < 300:
                    raise SmsUnavailable()
        except (urllib.error.URLError, OSError):
            raise SmsUnavailable() from None
        return
    raise SmsUnavailable()
