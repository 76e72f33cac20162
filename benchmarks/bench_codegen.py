"""End-to-end figures of the code-generation core, each beside a naive baseline.

    python benchmarks/bench_codegen.py            # full sizes (about 2 minutes)
    python benchmarks/bench_codegen.py --quick    # small sizes, a smoke run
    python benchmarks/bench_codegen.py --json     # one JSON document on stdout

Figures (medians; targets from issue 2):
- derive: vectorised derivation (AES PRFs + numpy + Damm) on one core, codes/s, vs a
  naive per-code Python loop (HMAC per code, one symbol at a time, Damm in Python);
  target >= 2,000,000/s and >= 20x.
- create: `loyalcode batch create --quantity 20000000` as a whole command (a fresh
  process, start-up included) and the library call alone; targets < 2 s and < 1 s.
- export: `loyalcode export ID --out FILE` of 2 M and 10 M codes, codes/s and the
  child's peak RSS (ru_maxrss from wait4); targets >= 1,000,000/s, < 200 MB, flat in
  quantity (within 10%); baseline: per-code encode() + f-string line written.
- check: `loyalcode check -` of 1,000,000 codes on stdin, codes/s (start-up included);
  target >= 200,000/s; baseline: per-code decode_scan in a Python loop.

Everything runs on a fresh SQLite database in a temporary directory, in fresh
processes of this interpreter (``python -m loyalcode``).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

KEY_HEX = "5f" * 32


def _env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALCODE_")}
    env["LOYALCODE_DATABASE_URL"] = f"sqlite:///{workdir / 'loyalcode.db'}"
    env["LOYALCODE_KEY"] = KEY_HEX
    return env


#: CPU seconds (user + system) of the last child run by _cli: on a shared machine the
#: wall time swings with the load, the CPU time much less.
LAST_CPU = [0.0]


def _cli(workdir: Path, *args: str, stdin: Any = None, stdout: Any = subprocess.PIPE) -> tuple[float, int, Any]:
    """Run ``python -m loyalcode ARGS``: (wall seconds, peak RSS KiB, stdout bytes)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(
        [sys.executable, "-m", "loyalcode", "-q", *args],
        env=_env(workdir), cwd=workdir, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
    )
    out = p.stdout.read() if stdout is subprocess.PIPE else None
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"loyalcode {' '.join(args)} failed: {err.decode()}")
    return wall, usage.ru_maxrss, out


# --- derivation ---------------------------------------------------------------------


def _damm_python(values: list[int]) -> int:
    interim = 0
    for v in values:
        x = interim << 1
        interim = (x ^ 0b100101 if x & 32 else x) ^ v
    x = interim << 1
    return x ^ 0b100101 if x & 32 else x


def naive_per_symbol(key: bytes, serials: range) -> list[str]:
    """The issue's naive baseline: one keyed HMAC per symbol, in a Python loop."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    out = []
    for s in serials:
        values = [
            hmac.new(key, s.to_bytes(8, "big") + bytes([i]), hashlib.sha256).digest()[0] & 31
            for i in range(15)
        ]
        out.append("".join(alphabet[v] for v in values) + alphabet[_damm_python(values)])
    return out


def naive_per_code(key: bytes, serials: range) -> list[str]:
    """A stronger baseline: one HMAC per code, symbols and check in a Python loop."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    out = []
    for s in serials:
        digest = hmac.new(key, s.to_bytes(8, "big"), hashlib.sha256).digest()
        values = [digest[i] & 31 for i in range(15)]
        out.append("".join(alphabet[v] for v in values) + alphabet[_damm_python(values)])
    return out


def naive_random(serials: range) -> list[str]:
    """MEASUREMENTS.md's naive: secrets.choice per symbol plus the check symbol."""
    import secrets

    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    out = []
    for _ in serials:
        values = [alphabet.index(secrets.choice(alphabet)) for _ in range(15)]
        out.append("".join(alphabet[v] for v in values) + alphabet[_damm_python(values)])
    return out


def bench_derive(n: int, repeats: int) -> dict[str, Any]:
    import numpy as np

    from loyalcode.codegen.codec import derive_chars
    from loyalcode.store.keys import Keyring

    ring = Keyring(bytes.fromhex(KEY_HEX))
    chunk = 262_144
    rates = []
    for r in range(repeats):
        t0 = time.perf_counter()
        for start in range(0, n, chunk):
            derive_chars(ring, np.arange(start + 1, min(n, start + chunk) + 1, dtype=np.uint64))
        rates.append(n / (time.perf_counter() - t0))
    key = bytes.fromhex(KEY_HEX)
    baselines = {
        "naive_hmac_per_symbol": lambda r: naive_per_symbol(key, r),
        "naive_secrets_per_symbol": naive_random,
        "naive_hmac_per_code": lambda r: naive_per_code(key, r),
    }
    out: dict[str, Any] = {"codes": n, "codes_per_s": statistics.median(rates)}
    naive_n = 20_000 if n > 1_000_000 else 5_000
    for name, fn in baselines.items():
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn(range(1, naive_n + 1))
            runs.append(naive_n / (time.perf_counter() - t0))
        out[name] = statistics.median(runs)
    med = out["codes_per_s"]
    out["ratio"] = med / out["naive_hmac_per_symbol"]
    out["ratio_vs_hmac_per_code"] = med / out["naive_hmac_per_code"]
    out["target"] = ">= 2,000,000/s and >= 20x the per-symbol baseline"
    out["met"] = med >= 2_000_000 and out["ratio"] >= 20
    return out


# --- batch create ---------------------------------------------------------------------


def bench_create(workdir: Path, quantity: int, repeats: int) -> dict[str, Any]:
    from loyalcode.channels.batches import create_batch
    from loyalcode.store.context import open_context

    walls, cpus = [], []
    for _ in range(repeats):
        wall, _, _ = _cli(workdir, "batch", "create", "--sku", "BENCH", "--quantity", str(quantity),
                          "--points", "1")
        walls.append(wall)
        cpus.append(LAST_CPU[0])
    startup = [_cli(workdir, "--help")[0] for _ in range(repeats)]
    os.environ.update(_env(workdir))
    ctx = open_context()
    lib = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        with ctx.session() as s, s.begin():
            create_batch(s, sku="BENCH", quantity=quantity, points=1,
                         payload_template="HTTPS://LC.EXAMPLE.COM/C/{code}")
        lib.append(time.perf_counter() - t0)
    ctx.dispose()
    cmd, work = statistics.median(walls), statistics.median(lib)
    return {"quantity": quantity, "command_s": cmd, "command_cpu_s": statistics.median(cpus),
            "library_s": work,
            "help_startup_s": statistics.median(startup),
            "target": "< 1 s work, < 2 s command", "met": cmd < 2 and work < 1}


# --- export -----------------------------------------------------------------------------


def _new_batch(workdir: Path, quantity: int) -> int:
    _, _, out = _cli(workdir, "batch", "create", "--sku", "EXPORT", "--quantity", str(quantity),
                     "--points", "1", "--json")
    return int(json.loads(out)["id"])


def bench_export(workdir: Path, sizes: list[int], repeats: int) -> dict[str, Any]:
    results = {}
    for n in sizes:
        batch = _new_batch(workdir, n)
        out = workdir / f"export-{n}.csv"
        walls, rss, cpus = [], [], []
        for _ in range(repeats):
            wall, maxrss, _ = _cli(workdir, "export", str(batch), "--out", str(out))
            walls.append(wall)
            rss.append(maxrss)
            cpus.append(LAST_CPU[0])
        size = out.stat().st_size
        out.unlink()
        wall = statistics.median(walls)
        results[n] = {"seconds": wall, "codes_per_s": n / wall, "cpu_s": statistics.median(cpus),
                      "peak_rss_mb": max(rss) / 1024,
                      "bytes": size}
    # naive: per-code encode() and an f-string line, written one by one
    from loyalcode.codegen.codec import encode
    from loyalcode.store.keys import Keyring

    ring = Keyring(bytes.fromhex(KEY_HEX))
    naive_n = 100_000
    t0 = time.perf_counter()
    with open(workdir / "naive.csv", "w") as f:
        f.write("seq,code,payload\n")
        for seq in range(1, naive_n + 1):
            code = encode(ring, seq)
            f.write(f"{seq},{code[:4]}-{code[4:8]}-{code[8:12]}-{code[12:]},HTTPS://LC.EXAMPLE.COM/C/{code}\n")
    naive = naive_n / (time.perf_counter() - t0)
    big, small = results[max(sizes)], results[min(sizes)]
    flat = abs(big["peak_rss_mb"] - small["peak_rss_mb"]) / small["peak_rss_mb"]
    return {
        "sizes": {str(k): v for k, v in results.items()},
        "naive_codes_per_s": naive,
        "ratio": big["codes_per_s"] / naive,
        "rss_spread": flat,
        "target": ">= 1,000,000/s, < 200 MB, 2 M and 10 M within 10%",
        "met": big["codes_per_s"] >= 1_000_000 and big["peak_rss_mb"] < 200 and flat <= 0.10,
    }


# --- check --------------------------------------------------------------------------------


def bench_check(workdir: Path, n: int, repeats: int) -> dict[str, Any]:
    batch = _new_batch(workdir, n)
    codes_file = workdir / "codes.txt"
    _, _, _ = _cli(workdir, "export", str(batch), "--format", "txt", "--out", str(codes_file))
    # the printed form, grouped, one per line (what a QA scanner log looks like)
    from loyalcode.codegen.codec import decode_scan
    from loyalcode.store.keys import Keyring

    ring = Keyring(bytes.fromhex(KEY_HEX))
    lines = codes_file.read_text().splitlines()
    grouped = workdir / "grouped.txt"
    codes = [line.rsplit("/", 1)[-1] for line in lines]
    grouped.write_text("".join(f"{c[:4]}-{c[4:8]}-{c[8:12]}-{c[12:]}\n" for c in codes))
    out: dict[str, Any] = {"codes": n}
    for label, path, extra in (("grouped_text", grouped, []), ("grouped_json", grouped, ["--json"]),
                               ("payload_urls_text", codes_file, [])):
        walls, cpus = [], []
        for _ in range(repeats):
            with open(path, "rb") as f:
                wall, _, data = _cli(workdir, "check", "-", *extra, stdin=f)
            assert data.count(b"\n") == n
            walls.append(wall)
            cpus.append(LAST_CPU[0])
        out[label] = {"seconds": statistics.median(walls), "codes_per_s": n / statistics.median(walls),
                      "cpu_s": statistics.median(cpus)}
    naive_n = 50_000
    t0 = time.perf_counter()
    for c in codes[:naive_n]:
        decode_scan(ring, c)
    out["naive_codes_per_s"] = naive_n / (time.perf_counter() - t0)
    out["ratio"] = out["grouped_text"]["codes_per_s"] / out["naive_codes_per_s"]
    out["target"] = ">= 200,000/s"
    out["met"] = min(out[k]["codes_per_s"] for k in ("grouped_text", "grouped_json", "payload_urls_text")) >= 200_000
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="one JSON document on stdout")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--only", choices=["derive", "create", "export", "check"], action="append")
    args = ap.parse_args()
    quick = args.quick
    only = set(args.only or ["derive", "create", "export", "check"])
    report: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "quick": quick}
    with tempfile.TemporaryDirectory(prefix="bench-codegen-") as tmp:
        workdir = Path(tmp)
        _cli(workdir, "init")
        if "derive" in only:
            report["derive"] = bench_derive(200_000 if quick else 5_000_000, 3 if quick else 5)
        if "create" in only:
            report["create"] = bench_create(workdir, 20_000_000, 3 if quick else 5)
        if "export" in only:
            report["export"] = bench_export(workdir, [200_000, 1_000_000] if quick else [2_000_000, 10_000_000],
                                            1 if quick else 3)
        if "check" in only:
            report["check"] = bench_check(workdir, 100_000 if quick else 1_000_000, 1 if quick else 3)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    _print(report)


def _print(r: dict[str, Any]) -> None:
    def ok(x: dict[str, Any]) -> str:
        return "MET" if x["met"] else "MISSED"

    if "derive" in r:
        d = r["derive"]
        print(f"derive   {d['codes_per_s']:>14,.0f} codes/s   [{d['target']}: {ok(d)}]")
        for k in ("naive_hmac_per_symbol", "naive_secrets_per_symbol", "naive_hmac_per_code"):
            print(f"         {k:<26} {d[k]:>10,.0f} codes/s   x{d['codes_per_s'] / d[k]:,.0f}")
    if "create" in r:
        c = r["create"]
        print(f"create   20M: command {c['command_s']:.3f} s (CPU {c['command_cpu_s']:.3f} s; start-up alone {c['help_startup_s']:.3f} s), "
              f"library {c['library_s'] * 1000:.1f} ms   [{c['target']}: {ok(c)}]")
    if "export" in r:
        e = r["export"]
        for n, v in e["sizes"].items():
            print(f"export   {int(n):>11,} codes: {v['seconds']:.2f} s (CPU {v['cpu_s']:.2f} s), {v['codes_per_s']:>12,.0f} codes/s, "
                  f"peak RSS {v['peak_rss_mb']:.1f} MB, {v['bytes']:,} bytes")
        print(f"         naive {e['naive_codes_per_s']:,.0f}/s, x{e['ratio']:.0f}, RSS spread "
              f"{e['rss_spread'] * 100:.1f}%   [{e['target']}: {ok(e)}]")
    if "check" in r:
        c = r["check"]
        for k in ("grouped_text", "grouped_json", "payload_urls_text"):
            print(f"check    {c['codes']:,} {k}: {c[k]['seconds']:.2f} s (CPU {c[k]['cpu_s']:.2f} s), "
                  f"{c[k]['codes_per_s']:,.0f} codes/s")
        print(f"         naive {c['naive_codes_per_s']:,.0f}/s, x{c['ratio']:.1f}   [{c['target']}: {ok(c)}]")


if __name__ == "__main__":
    main()
