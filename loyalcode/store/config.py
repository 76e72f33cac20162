"""Configuration: the database URL, and settings from ``loyalcode.toml``.

The database URL is ``--db``, else ``LOYALCODE_DATABASE_URL``, else the embedded SQLite
file ``./loyalcode.db``. Settings live in the TOML file ``LOYALCODE_CONFIG`` names,
else ``loyalcode.toml`` beside the SQLite database file (or in the working directory
for a server database); a missing file means every default. Each package reads its
own table (``[codes]``, ``[redemption]``, ``[loyalty]`` ...).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loyalcode.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///./loyalcode.db"
DEFAULT_PAYLOAD_TEMPLATE = "HTTPS://LC.EXAMPLE.COM/C/{code}"
#: The path the consumer pages answer, after a deployment's base URL.
PAYLOAD_PATH = "/C/{code}"


def database_url(explicit: str | None = None) -> str:
    """The database URL to use: ``explicit``, the environment, or the default."""
    return explicit or os.environ.get("LOYALCODE_DATABASE_URL") or DEFAULT_DATABASE_URL


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (``None`` for memory or other databases)."""
    if not url.startswith("sqlite"):
        return None
    _, _, rest = url.partition(":///")
    rest = rest.split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    return Path(rest)


def config_path(url: str) -> Path:
    """Where the settings file for this database is looked for."""
    named = os.environ.get("LOYALCODE_CONFIG")
    if named:
        return Path(named)
    db_file = sqlite_path(url)
    base = db_file.parent if db_file is not None else Path(".")
    return base / "loyalcode.toml"


@dataclass(frozen=True, slots=True)
class Config:
    """Settings read from the TOML file (empty when there is none)."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """One ``[table]`` of the file, ``{}`` when absent."""
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(detail=f"[{name}] in {self.path} must be a table")
        return value

    @property
    def payload_template(self) -> str:
        """The default QR payload template for new batches."""
        value = self.section("codes").get("payload_template", DEFAULT_PAYLOAD_TEMPLATE)
        if not isinstance(value, str):
            raise ConfigError(detail="codes.payload_template must be a string")
        return value


def load_config(url: str) -> Config:
    """Read the settings file that belongs to the database at ``url``."""
    path = config_path(url)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        if os.environ.get("LOYALCODE_CONFIG"):
            raise ConfigError(detail=f"LOYALCODE_CONFIG names {path}, which does not exist") from None
        data = {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(detail=f"{path}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(detail=f"{path} is not UTF-8 text (byte {exc.start})") from None
    except IsADirectoryError:
        raise ConfigError(detail=f"{path} is a directory, not a TOML file") from None
    except OSError as exc:
        raise ConfigError(detail=f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    return Config(path=path, data=data)


def payload_template_for(base_url: str) -> str:
    """The payload template for a deployment's base URL: ``https://qr.brand.cn`` gives
    ``HTTPS://QR.BRAND.CN/C/{code}``. Scheme and host are upper-cased (they are
    case-insensitive, and upper case fits QR alphanumeric mode, a smaller symbol); a
    path is kept as written. :class:`ConfigError` for anything but an http(s) URL with
    a host and no query or fragment."""
    from urllib.parse import urlsplit

    text = base_url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (
        parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname
        or parts.query or parts.fragment or parts.username or parts.password
        or "{" in text or "}" in text or not text.isascii() or any(c.isspace() for c in text)
    ):
        raise ConfigError(
            detail=f"--base-url {base_url!r} is not an http(s) URL like https://qr.brand.cn "
            "(a host, optionally a path; no query)"
        )
    host = parts.hostname.upper() + (f":{port}" if port is not None else "")
    return f"{parts.scheme.upper()}://{host}{parts.path.rstrip('/')}{PAYLOAD_PATH}"


def write_payload_template(path: Path, template: str) -> bool:
    """Set ``[codes] payload_template`` in the settings file ``path`` (created if
    missing; other settings and comments kept). ``False`` when it already says so.

    A file that sets another payload template is refused (:class:`ConfigError`): it is
    the one place for the setting, and an edit there is the operator's to make."""
    import json

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    try:
        current = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(detail=f"{path}: {exc}") from None
    codes = current.get("codes", {})
    if not isinstance(codes, dict):
        raise ConfigError(detail=f"[codes] in {path} must be a table")
    if "payload_template" in codes:
        if codes["payload_template"] == template:
            return False
        raise ConfigError(
            detail=f"{path} already sets [codes] payload_template = "
            f"{codes['payload_template']!r}: change it there"
        )
    line = f"payload_template = {json.dumps(template)}\n"
    lines = text.splitlines(keepends=True)
    header = next((i for i, raw in enumerate(lines) if raw.strip() == "[codes]"), None)
    if header is not None:
        lines.insert(header + 1, line)
        new = "".join(lines)
    else:
        new = text + ("\n" if text and not text.endswith("\n") else "") + \
            ("\n" if text else "") + "[codes]\n" + line
    if tomllib.loads(new).get("codes", {}).get("payload_template") != template:
        raise ConfigError(detail=f"{path}: could not add [codes] payload_template")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)
    return True
