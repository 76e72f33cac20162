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
