"""The HTTP service under a real load generator (wrk over loopback), against the
library in the same run.

    python benchmarks/bench_service.py            # every figure, about 3 minutes
    python benchmarks/bench_service.py --json --seconds 5

Needs ``wrk`` (Debian: ``apt-get install wrk``) and, for the PostgreSQL figure, the
database of ``LOYALCODE_BENCH_POSTGRES_URL``. Figures (issue 16):

* SQLite, 1 worker, 16 connections: ``POST /v1/redemptions`` of distinct codes, and
  the same server's bare ``/healthz`` rate beside it (the ratio is the cost of a scan
  over the cost of HTTP itself);
* ``POST /v1/checks`` of single codes with 2 workers;
* RSS of each worker before and after 100,000 requests;
* PostgreSQL, 2 workers, 16 connections: ``POST /v1/redemptions`` against the
  library's own throughput with 16 processes (``bench_redeem.library_worker``) on the
  same database in the same run; p99 from wrk's latency distribution.

Every response is counted: a run where anything but 201 (or 200) came back fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import pg_available
from bench_redeem import MEMBERS, library_worker, make_database, phone, run_procs, split

HERE = Path(__file__).resolve().parent
LUA = HERE / "redeem.lua"
CONNECTIONS = 16
LIBRARY_PROCS = 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, url: str, workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loyalcode", "--db", url, "serve", "--port",
             str(self.port), "--workers", str(workers)],
            stdout=subprocess.DEVNULL, stderr=self.log)
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        pids = [int(p) for p in children.read_text().split()] if children.exists() else []
        # uvicorn's supervisor has a helper process besides its workers: keep the ones
        # that listen (the workers are the big ones)
        return [p for p in pids if rss_mb(p) > 40] or [self.proc.pid]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, seconds: int, token: str, bodies: Path | None, threads: int = 2) -> dict[str, Any]:
    """One wrk run: requests/s, p50 and p99 (ms), requests, non-2xx responses."""
    cmd = ["wrk", f"-t{threads}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    if bodies is not None:
        cmd += ["-s", str(LUA), url, "--", str(bodies), str(threads)]
    else:
        cmd += [url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         env={**os.environ, "LC_TOKEN": token}).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
        return round(float(m.group(1)) * _UNIT[m.group(2)], 2) if m else float("nan")

    return {"rate": round(rate), "p50_ms": pct("50"), "p99_ms": pct("99"), "requests": total,
            "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else None}


def make_key(url: str) -> str:
    import datetime as dt

    from loyalcode.access.apikeys import create_key
    from loyalcode.store.context import open_context

    ctx = open_context(url)
    with ctx.session() as s, s.begin():
        token = create_key(s.connection(), "bench", ["redeem"], dt.datetime.now(dt.UTC)).token
    ctx.dispose()
    return token


def codes_of(url: str, start: int, count: int) -> list[str]:
    from loyalcode.codegen.codec import encode
    from loyalcode.store.context import open_context

    ctx = open_context(url)
    keyring = ctx.keyring()
    ctx.dispose()
    return [encode(keyring, start + i) for i in range(count)]


def write_bodies(path: Path, codes: list[str], offset: int) -> Path:
    with path.open("w") as f:
        for i, code in enumerate(codes, offset):
            f.write(json.dumps({"scan": code, "phone": phone(i % MEMBERS)}) + "\n")
    return path


def count_redemptions(url: str) -> int:
    from sqlalchemy import text

    from loyalcode.store.context import open_context

    ctx = open_context(url)
    with ctx.engine.connect() as conn:
        n = int(conn.execute(text("SELECT count(*) FROM redemptions")).scalar_one())
    ctx.dispose()
    return n


def bench_sqlite(seconds: int, work: Path) -> dict[str, Any]:
    url, facts, cleanup = make_database("sqlite", 60000)
    try:
        token = make_key(url)
        bodies = write_bodies(work / "sqlite.jsonl", codes_of(url, facts["lib_start"], 60000), 0)
        checks = work / "checks.jsonl"
        with checks.open("w") as f:
            for code in codes_of(url, facts["raw_start"], 1000):
                f.write(json.dumps({"codes": [code]}) + "\n")
        out: dict[str, Any] = {}
        server = Server(url, workers=1)
        try:
            wrk(server.base + "/healthz", 2, token, None)  # warm
            out["healthz_1w"] = wrk(server.base + "/healthz", seconds, token, None)
            out["redeem_1w"] = wrk(server.base + "/v1/redemptions", seconds, token, bodies)
            out["redeem_1w"]["credited"] = count_redemptions(url)
        finally:
            server.stop()
        out["redeem_over_healthz"] = round(out["redeem_1w"]["rate"] / out["healthz_1w"]["rate"], 3)
        server = Server(url, workers=2)
        try:
            wrk(server.base + "/v1/checks", 2, token, checks)  # warm
            out["checks_2w"] = wrk(server.base + "/v1/checks", seconds, token, checks)
            pids = server.worker_pids()
            before = {p: round(rss_mb(p), 1) for p in pids}
            done = 0
            while done < 100_000:
                done += wrk(server.base + "/v1/checks", 10, token, checks)["requests"]
            after = {p: round(rss_mb(p), 1) for p in pids}
            out["memory_2w"] = {"requests": done, "rss_mb_before": list(before.values()),
                                "rss_mb_after": list(after.values()),
                                "growth": [round(after[p] / before[p] - 1, 4) for p in pids]}
        finally:
            server.stop()
        return out
    finally:
        cleanup()


def bench_postgres(seconds: int, work: Path) -> dict[str, Any]:
    url, facts, cleanup = make_database("postgresql", 60000)
    try:
        token = make_key(url)
        codes = codes_of(url, facts["lib_start"], 60000)
        lib_codes, http_codes = codes[:16000], codes[16000:]
        parts = split(lib_codes, LIBRARY_PROCS)
        library = run_procs(library_worker, [(url, part, i * 997)
                                             for i, part in enumerate(parts)])
        bodies = write_bodies(work / "pg.jsonl", http_codes, 16000)
        server = Server(url, workers=2)
        try:
            wrk(server.base + "/healthz", 2, token, None)
            service = wrk(server.base + "/v1/redemptions", seconds, token, bodies)
        finally:
            server.stop()
        service["credited"] = count_redemptions(url) - len(lib_codes)
        return {"library_16procs": {k: round(v, 2) for k, v in library.items()},
                "service_2w_16conn": service,
                "service_over_library": round(service["rate"] / library["rate"], 3)}
    finally:
        cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", choices=["sqlite", "postgres"], action="append")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    os.environ.setdefault("LOYALCODE_KEY", secrets.token_hex(32))
    os.environ["LOYALCODE_KEY_FILE"] = "/nonexistent/loyalcode.key"
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.only or "sqlite" in args.only:
            results["sqlite"] = bench_sqlite(args.seconds, Path(tmp))
        if (not args.only or "postgres" in args.only) and pg_available():
            results["postgres"] = bench_postgres(args.seconds, Path(tmp))
    print(json.dumps(results, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
