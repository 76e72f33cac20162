"""Real ``loyalcode`` processes stopped the hard way: nothing of a killed export or
print outlives it (no process, no ``.part`` of live codes once the next run is in that
directory), SIGTERM and SIGHUP clean up as Ctrl-C does, and no file that init, export
or print writes is readable by group or others."""

from __future__ import annotations

import os
import secrets
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Cli

DEADLINE = 120.0  # seconds: generous for a loaded 2-core machine; only a failure waits it out


def _env(marker: str) -> dict[str, str]:
    # The marker is inherited by every process of the run (forkserver, workers,
    # resource tracker), so /proc tells which processes belong to it.
    return {**os.environ, "LOYALCODE_TEST_RUN": marker}


def _start(db_url: str, marker: str, *args: str, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "loyalcode", "--db", db_url, "-q", *args],
        env=_env(marker), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def processes_of(marker: str) -> list[int]:
    """Live (not zombie) processes whose environment carries ``marker``."""
    needle = f"LOYALCODE_TEST_RUN={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdecimal():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if needle in environ.split(b"\0") and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def wait_until(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + DEADLINE
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.02)


def parts(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.startswith(".") and ".part" in p.name]


def _batch(cli: Cli, quantity: int, *extra: str) -> int:
    r = cli("batch", "create", "--sku", "S", "--quantity", str(quantity), "--points", "1", *extra, "--json")
    assert r.exit_code == 0, r.stderr
    return int(r.json()["id"])


needs_proc = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")


@needs_proc
def test_sigkilled_export_leaves_nothing_after_the_next_run(sqlite_db_url: str, tmp_path: Path) -> None:
    cli = Cli(sqlite_db_url)
    batch = _batch(cli, 3_000_000, "--payload", "{code}")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    marker = secrets.token_hex(8)
    args = ("export", str(batch), "--format", "txt", "--out", "codes.txt")
    proc = _start(sqlite_db_url, marker, *args, cwd=out_dir)
    try:
        wait_until(lambda: parts(out_dir) or proc.poll() is not None, "the export's .part file")
        assert proc.poll() is None, "the export ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    left = parts(out_dir)
    assert left and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in left)  # 0600 even half-written
    # The same command again (a short range, same directory): the dead run's file goes.
    proc = _start(sqlite_db_url, secrets.token_hex(8), *args, "--to", "1000", cwd=out_dir)
    assert proc.wait(DEADLINE) == 0, proc.stderr.read() if proc.stderr else ""
    assert [p.name for p in out_dir.iterdir()] == ["codes.txt"]
    assert len((out_dir / "codes.txt").read_text().splitlines()) == 1000
    assert processes_of(marker) == []


@needs_proc
def test_sigkilled_print_leaves_no_process_and_nothing_after_the_next_run(
    sqlite_db_url: str, tmp_path: Path
) -> None:
    cli = Cli(sqlite_db_url)
    batch = _batch(cli, 20_000)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    marker = secrets.token_hex(8)
    args = ("print", str(batch), "--template", "a4-3x8", "--workers", "2", "--out", "labels.pdf",
            "--allow-example-domain")
    proc = _start(sqlite_db_url, marker, *args, cwd=out_dir)
    try:
        # The run, the forkserver and two workers (and a resource tracker) are up.
        wait_until(lambda: len(processes_of(marker)) >= 4 or proc.poll() is not None, "the print's workers")
        wait_until(lambda: parts(out_dir) or proc.poll() is not None, "the print's .part file")
        assert proc.poll() is None, "the print ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # Every process of the dead run ends by itself (workers, then forkserver and tracker).
    wait_until(lambda: processes_of(marker) == [], f"the killed print's processes {processes_of(marker)}")
    assert parts(out_dir)  # what the dead run left, until the next run
    proc = _start(sqlite_db_url, secrets.token_hex(8), *args, "--to", "24", cwd=out_dir)
    assert proc.wait(DEADLINE) == 0, proc.stderr.read() if proc.stderr else ""
    assert [p.name for p in out_dir.iterdir()] == ["labels.pdf"]


@needs_proc
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_export_stopped_by_sigterm_or_sighup_cleans_up(sqlite_db_url: str, tmp_path: Path, signum: int) -> None:
    cli = Cli(sqlite_db_url)
    batch = _batch(cli, 3_000_000, "--payload", "{code}")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = _start(sqlite_db_url, secrets.token_hex(8), "export", str(batch), "--format", "txt",
                  "--out", "codes.txt", cwd=out_dir)
    try:
        wait_until(lambda: parts(out_dir) or proc.poll() is not None, "the export's .part file")
        assert proc.poll() is None, "the export ended before it could be stopped"
        os.kill(proc.pid, signum)
        proc.wait(DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert proc.stderr is not None and "[interrupted]" in proc.stderr.read().decode()
    assert list(out_dir.iterdir()) == []


def test_init_export_and_print_write_nothing_group_or_others_can_read(tmp_path: Path) -> None:
    """Under the usual umask 022: the database, the key, an export,
    a PDF, a ZPL file and PNG pages (over an older world-readable export too)."""
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALCODE_")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-c", "import os, sys; os.umask(0o022); from loyalcode.cli import main; main()",
             "-q", *args],
            cwd=work, env=env, capture_output=True, text=True, timeout=DEADLINE, check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return proc

    run("init")
    run("batch", "create", "--sku", "S", "--quantity", "30", "--points", "1",
        "--payload", "HTTPS://QR.BRAND.CN/C/{code}")
    (work / "old.csv").write_text("an older export\n")
    (work / "old.csv").chmod(0o644)
    run("export", "1", "--out", "old.csv")
    run("export", "1", "--out", "codes.csv")
    run("print", "1", "-t", "a4-3x8", "--out", "labels.pdf")
    run("print", "1", "-t", "roll-40x30", "-f", "zpl", "--out", "labels.zpl", "--caption", "Scratch here")
    run("print", "1", "-t", "a4-3x8", "-f", "png", "--out", "pages")
    written = sorted(p for p in work.rglob("*"))
    names = {p.relative_to(work).as_posix() for p in written}
    assert {"loyalcode.db", "loyalcode.key", "old.csv", "codes.csv", "labels.pdf", "labels.zpl",
            "pages/page-00001.png"} <= names
    open_to_others = {p.relative_to(work).as_posix(): oct(stat.S_IMODE(p.stat().st_mode))
                      for p in written if stat.S_IMODE(p.stat().st_mode) & 0o077}
    assert open_to_others == {}
