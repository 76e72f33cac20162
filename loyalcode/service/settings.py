"""Settings of the HTTP service from the ``[service]`` table of ``loyalcode.toml``.

>>> ServiceSettings().max_body_bytes
262144
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields
from typing import Any

from loyalcode.errors import ConfigError
from loyalcode.store.config import Config

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """Limits and trust of the HTTP service."""

    #: Largest request body accepted (a check of 1,000 scanned URLs fits).
    max_body_bytes: int = 262144
    #: A request still unanswered after this long gets 503 ``request_timeout``.
    request_timeout_seconds: int = 30
    #: Worker threads per process that run database work (each keeps a connection).
    threads: int = 8
    #: A verified API key is trusted this long before it is read again, so a
    #: revocation takes effect within this many seconds in every worker (0: read on
    #: every request).
    key_cache_seconds: int = 5
    #: Peers (addresses or networks) whose ``X-Forwarded-For`` names the client, used
    #: as a scan's throttle ``source`` when the body gives none.
    trusted_proxies: tuple[str, ...] = ()
    #: Origins allowed by CORS; none (the default) means CORS is off.
    cors_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "request_timeout_seconds", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(detail=f"service.{name} must be a whole number >= 1")
        value = self.key_cache_seconds
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(detail="service.key_cache_seconds must be a whole number >= 0")
        for name in ("trusted_proxies", "cors_origins"):
            items = getattr(self, name)
            if not isinstance(items, tuple) or not all(isinstance(i, str) for i in items):
                raise ConfigError(detail=f"service.{name} must be a list of strings")
        self.proxy_networks()

    def proxy_networks(self) -> tuple[Network, ...]:
        """:attr:`trusted_proxies` as networks."""
        try:
            return tuple(ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)
        except ValueError as err:
            raise ConfigError(detail=f"service.trusted_proxies: {err}") from None

    @classmethod
    def from_config(cls, config: Config) -> ServiceSettings:
        """The settings in ``[service]``; defaults for what is missing."""
        section: dict[str, Any] = dict(config.section("service"))
        known = {f.name for f in fields(cls)}
        unknown = set(section) - known
        if unknown:
            raise ConfigError(detail=f"unknown key(s) in [service]: {', '.join(sorted(unknown))}")
        for name in ("trusted_proxies", "cors_origins"):
            if isinstance(section.get(name), list):
                section[name] = tuple(section[name])
        return cls(**section)
