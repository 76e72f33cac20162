"""A real ``loyalcode serve`` in a subprocess on an ephemeral loopback port."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

_RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
_LISTENING = re.compile(r"Uvicorn running on .*?:(\d+)")


@dataclass
class Server:
    """The process, its base URL, and every line it wrote on stderr."""

    proc: subprocess.Popen[str]
    url: str = ""
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def log(self) -> str:
        return "\n".join(self.lines)

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.lines) if line.startswith("{")]

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then the exit code (the reader has drained stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=10)
        return code


def start_server(db_url: str, *, workers: int = 1, config: str | None = None,
                 tmp_path: Path, env: dict[str, str] | None = None) -> Server:
    """Start ``loyalcode --db URL serve --port 0`` and wait until /healthz answers."""
    environment = {**os.environ, **(env or {})}
    if config is not None:
        path = tmp_path / "service.toml"
        path.write_text(config, encoding="utf-8")
        environment["LOYALCODE_CONFIG"] = str(path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "loyalcode", "--db", db_url, "serve", "--port", "0",
         "--workers", str(workers)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=environment,
    )
    server = Server(proc)
    found = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            server.lines.append(line.rstrip("\n"))
            match = _LISTENING.search(line)
            if match and not server.url:
                server.url = f"http://127.0.0.1:{match.group(1)}"
                found.set()
        found.set()

    server._reader = threading.Thread(target=read, daemon=True)
    server._reader.start()
    deadline = time.monotonic() + 120
    found.wait(timeout=120)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited {proc.returncode}:\n{server.log()}")
        if server.url:
            try:
                if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"the server did not become ready:\n{server.log()}")


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the problem document of ``code`` with ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["type"] == f"urn:loyalcode:problem:{code}"
    assert body["detail"]
    return body
