"""The landing page of a genuine code under a real load generator (wrk over loopback):
one worker on SQLite, 16 connections, distinct codes, beside the same server's bare
``/healthz`` in the same run (issue 18: at least 500 pages/s, p99 under 50 ms).

    python benchmarks/bench_pages.py              # about 30 seconds
    python benchmarks/bench_pages.py --json --seconds 5

Needs ``wrk`` (Debian: ``apt-get install wrk``). Every response must be 200 and no
redemption may be written: a run that sees anything else fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_redeem import make_database
from bench_service import _UNIT, CONNECTIONS, Server, codes_of, count_redemptions

HERE = Path(__file__).resolve().parent
LUA = HERE / "pages.lua"
CODES = 20_000


def wrk_paths(base: str, seconds: int, paths: Path, threads: int = 2) -> dict[str, Any]:
    cmd = ["wrk", f"-t{threads}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
           "-s", str(LUA), base, "--", str(paths), str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
        return round(float(m.group(1)) * _UNIT[m.group(2)], 2) if m else float("nan")

    return {"rate": round(rate), "p50_ms": pct("50"), "p99_ms": pct("99"), "requests": total,
            "non_2xx": int(bad.group(1)) if bad else 0}


def bench(seconds: int, work: Path) -> dict[str, Any]:
    url, facts, cleanup = make_database("sqlite", CODES)
    try:
        paths = work / "paths.txt"
        paths.write_text("".join(f"/C/{code}\n" for code in codes_of(url, facts["lib_start"], CODES)))
        health = work / "health.txt"
        health.write_text("/healthz\n")
        server = Server(url, workers=1)
        try:
            wrk_paths(server.base, 2, paths)  # warm
            out: dict[str, Any] = {
                "healthz_1w": wrk_paths(server.base, seconds, health),
                "landing_1w": wrk_paths(server.base, seconds, paths),
            }
        finally:
            server.stop()
        for name, run in out.items():
            if run["non_2xx"]:
                raise SystemExit(f"{name}: {run['non_2xx']} responses were not 200")
        if count_redemptions(url):
            raise SystemExit("a landing page redeemed a code")
        out["landing_over_healthz"] = round(out["landing_1w"]["rate"] / out["healthz_1w"]["rate"], 3)
        return out
    finally:
        cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    os.environ.setdefault("LOYALCODE_KEY", secrets.token_hex(32))
    os.environ["LOYALCODE_KEY_FILE"] = "/nonexistent/loyalcode.key"
    with tempfile.TemporaryDirectory() as tmp:
        results = {"sqlite": bench(args.seconds, Path(tmp))}
    print(json.dumps(results, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
