"""End-to-end label printing throughput, with the naive baseline in the same run.

    python benchmarks/bench_print.py --labels 100000            # table
    python benchmarks/bench_print.py --labels 100000 --json     # one JSON object

Label data comes from the real code path (keyed code derivation, hashids visible
serials, payload template) through ``loyalcode.codegen.labels.iter_label_chunks`` on an
in-memory batch, so the figures include everything `loyalcode print` does except the
database look-up of one batch row. Template a4-3x8, 300 dpi, visible serial on.

The naive baseline is the usual sheet code: per label ``qrcode.make()`` (automatic
version and mask) + ``make_image()`` + Pillow text + paste onto a Pillow page, pages
saved with Pillow.

Peak memory (max RSS of the parent and of the largest worker) is reported per run;
``--memory`` adds a run 10x larger to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEY = bytes.fromhex("7c1f0a9e3b5d4c2a8e6f1b0d9c7a5e3f2b4d6c8a0e1f3b5d7c9a2e4f6b8d0c1a")


@dataclass
class FakeBatch:
    id: int = 1
    serial_start: int = 1_000_000
    quantity: int = 10_000_000
    payload_template: str = "HTTPS://LC.EXAMPLE.COM/C/{code}"
    gtin: str | None = None


def label_chunks(count: int, chunk_size: int = 4096):  # type: ignore[no-untyped-def]
    from loyalcode.codegen.labels import iter_label_chunks
    from loyalcode.store.keys import Keyring

    return iter_label_chunks(FakeBatch(), Keyring(KEY), 1, count, with_serial=True,
                             visible_salt="bench-salt", chunk_size=chunk_size)


def run_fast(fmt: str, count: int, out_dir: Path, workers: int | None) -> dict:
    from loyalcode.printing.run import PrintOptions, print_labels
    from loyalcode.printing.templates import get_template

    options = PrintOptions(template=get_template("a4-3x8"), fmt=fmt,
                           dpi=203 if fmt == "zpl" else 300, workers=workers)
    out = out_dir / {"pdf": "run.pdf", "png": "pages", "zpl": "run.zpl"}[fmt]
    started = time.perf_counter()
    result = print_labels(label_chunks(count), out, options, total=count)
    seconds = time.perf_counter() - started
    return {"labels": result.labels, "seconds": seconds, "rate": result.labels / seconds,
            "workers": result.workers}


def run_naive(count: int, out_dir: Path) -> dict:
    """qrcode.make() + make_image() + paste, one label at a time; Pillow text and PNG pages."""
    import qrcode
    from PIL import Image, ImageDraw, ImageFont

    from loyalcode.printing.fonts import MONO_FONT

    dpi, k = 300, 300 / 25.4
    page_size = (round(210 * k), round(297 * k))
    font = ImageFont.truetype(str(MONO_FONT), 60)
    small = ImageFont.truetype(str(MONO_FONT), 40)
    started = time.perf_counter()
    page, n, pages = None, 0, 0
    for chunk in label_chunks(count):
        for code, payload, serial in zip(chunk.codes, chunk.payloads, chunk.serials or []):
            if page is None:
                page = Image.new("L", page_size, 255)
                draw = ImageDraw.Draw(page)
            slot = n % 24
            row, col = divmod(slot, 3)
            x, y = round(col * 70 * k), round((0.5 + row * 37) * k)
            img = qrcode.make(payload, box_size=10, border=4).get_image().convert("L")
            page.paste(img.resize((round(34 * k), round(34 * k))), (x + 18, y + 18))
            draw.text((x + round(37 * k), y + 120), f"{code[:4]}-{code[4:8]}", font=font, fill=0)
            draw.text((x + round(37 * k), y + 200), f"{code[8:12]}-{code[12:]}", font=font, fill=0)
            draw.text((x + round(37 * k), y + 290), serial, font=small, fill=0)
            n += 1
            if n % 24 == 0:
                pages += 1
                page.save(out_dir / f"naive-{pages:05d}.png", dpi=(dpi, dpi))
                page = None
    if page is not None:
        page.save(out_dir / "naive-last.png", dpi=(dpi, dpi))
    seconds = time.perf_counter() - started
    return {"labels": n, "seconds": seconds, "rate": n / seconds, "workers": 1}


def _child(args: argparse.Namespace) -> None:
    """One measured run in a fresh process (so peak RSS is this run's own)."""
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        if args.child == "naive":
            row = run_naive(args.labels, Path(tmp))
        else:
            row = run_fast(args.child, args.labels, Path(tmp), args.workers)
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row["peak_worker_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(row))


def measure(kind: str, labels: int, args: argparse.Namespace) -> dict:
    runs = []
    for _ in range(args.repeat):
        cmd = [sys.executable, __file__, "--child", kind, "--labels", str(labels), "--tmp", args.tmp]
        if args.workers is not None:
            cmd += ["--workers", str(args.workers)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    rates = [r["rate"] for r in runs]
    best = runs[rates.index(statistics.median_low(rates))]
    return {"kind": kind, "labels": labels, "median_rate": statistics.median(rates),
            "rates": [round(r) for r in rates], "peak_rss_mb": round(best["peak_rss_mb"], 1),
            "peak_worker_rss_mb": round(best["peak_worker_rss_mb"], 1), "workers": best["workers"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=100_000)
    parser.add_argument("--naive-labels", type=int, default=480)
    parser.add_argument("--zpl-labels", type=int, default=None, help="default: 5x --labels")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--formats", default="pdf,png,zpl")
    parser.add_argument("--memory", action="store_true", help="also run PDF and ZPL at 10x --labels")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tmp", default=tempfile.gettempdir())
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    rows = [measure("naive", args.naive_labels, args)]
    for fmt in args.formats.split(","):
        count = (args.zpl_labels or 5 * args.labels) if fmt == "zpl" else args.labels
        rows.append(measure(fmt, count, args))
        if args.memory and fmt in ("pdf", "zpl"):
            rows.append(measure(fmt, 10 * count, argparse.Namespace(**{**vars(args), "repeat": 1})))
    naive = rows[0]["median_rate"]
    for row in rows:
        row["x_naive"] = round(row["median_rate"] / naive, 1)
    info = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "command": " ".join(sys.argv),
            "rows": rows}
    if args.json:
        print(json.dumps(info, indent=2))
        return
    print(f"{'run':<8}{'labels':>10}{'labels/s (median)':>20}{'x naive':>9}{'peak MB':>9}{'worker MB':>11}  runs")
    for r in rows:
        print(f"{r['kind']:<8}{r['labels']:>10,}{r['median_rate']:>20,.0f}{r['x_naive']:>9}"
              f"{r['peak_rss_mb']:>9}{r['peak_worker_rss_mb']:>11}  {r['rates']}")


if __name__ == "__main__":
    main()
