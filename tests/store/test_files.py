"""Files that hold codes: whole or nothing, 0600, never through a symlink or into a
device unless streamed, and what a dead process left is cleaned by the next run."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from loyalcode.errors import OutputNotRegular, OutputNotWritable
from loyalcode.store.files import (
    AtomicFile,
    clean_stale_parts,
    interrupt_on_termination,
    temporary_name,
)
from tests.conftest import FifoReader


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


class Boom(Exception):
    pass


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_new_file_is_0600_and_appears_whole(tmp_path: Path) -> None:
    out = tmp_path / "codes.csv"
    with AtomicFile(out) as f:
        f.write(b"half")
        assert not out.exists() and mode(temporary_name(out)) == 0o600
        f.write(b" and the rest\n")
    assert out.read_bytes() == b"half and the rest\n" and mode(out) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["codes.csv"]


def test_replacing_a_world_readable_file_makes_it_0600(tmp_path: Path) -> None:
    out = tmp_path / "codes.csv"
    out.write_text("old\n")
    out.chmod(0o644)
    with AtomicFile(out) as f:
        f.write(b"new\n")
    assert out.read_text() == "new\n" and mode(out) == 0o600


def test_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        with AtomicFile(tmp_path / "a") as f:
            f.write(b"x")
    finally:
        os.umask(old)
    assert mode(tmp_path / "a") == 0o600


def test_failure_keeps_the_old_file_and_leaves_no_part(tmp_path: Path) -> None:
    out = tmp_path / "codes.csv"
    out.write_text("old\n")
    with pytest.raises(Boom), AtomicFile(out) as f:
        f.write(b"new")
        raise Boom
    assert out.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["codes.csv"]


def test_a_symlink_is_refused_and_stays_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "target.csv"
    target.write_text("target\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    with pytest.raises(OutputNotRegular) as err, AtomicFile(link) as f:
        f.write(b"codes")
    assert err.value.code == "output_not_regular" and "symbolic link" in err.value.message
    assert "--stream" in err.value.message
    assert link.is_symlink() and target.read_text() == "target\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "target.csv"]
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputNotRegular), AtomicFile(dangling):
        pass
    assert dangling.is_symlink() and not (tmp_path / "nowhere").exists()


def test_a_device_is_refused_without_stream(full_device: Path) -> None:
    """``--out /dev/full`` once became a regular file of live codes."""
    with pytest.raises(OutputNotRegular) as err, AtomicFile(full_device):
        pass
    assert "character device" in err.value.message
    assert stat.S_ISCHR(os.lstat(full_device).st_mode)


def test_stream_writes_straight_to_a_device(full_device: Path) -> None:
    with pytest.raises(OutputNotWritable) as err, AtomicFile(full_device, stream=True) as f:
        f.write(b"x" * 65536)
        f.flush()
    assert "No space left" in err.value.message
    assert stat.S_ISCHR(os.lstat(full_device).st_mode)
    null = full_device.with_name("null")
    if full_device.parent != Path("/dev"):
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    with AtomicFile(null, stream=True) as f:
        f.write(b"labels")
    assert stat.S_ISCHR(os.lstat(null).st_mode)


def test_a_fifo_is_refused_then_streamed(tmp_path: Path) -> None:
    fifo = tmp_path / "spool"
    os.mkfifo(fifo)
    with pytest.raises(OutputNotRegular) as err, AtomicFile(fifo):
        pass
    assert "FIFO" in err.value.message
    with FifoReader(fifo) as received, AtomicFile(fifo, stream=True) as f:
        f.write(b"^XA^FDlabel^FS^XZ\n")
    assert received == [b"^XA^FDlabel^FS^XZ\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spool"]


def test_stream_to_a_regular_file_is_0600_and_emptied_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "codes.zpl"
    with AtomicFile(out, stream=True) as f:
        f.write(b"all\n")
    assert out.read_bytes() == b"all\n" and mode(out) == 0o600
    with pytest.raises(Boom), AtomicFile(out, stream=True) as f:
        f.write(b"half")
        raise Boom
    assert out.read_bytes() == b""


def test_a_directory_or_a_missing_directory_is_unwritable(tmp_path: Path) -> None:
    with pytest.raises(OutputNotWritable), AtomicFile(tmp_path):
        pass
    with pytest.raises(OutputNotWritable), AtomicFile(tmp_path / "no" / "x.csv"):
        pass


def test_stale_parts_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = dead_pid()
    stale = tmp_path / f".codes.csv.{dead}.part"
    stale.write_text("live codes of a killed run")
    stale_dir = tmp_path / f".pages.{dead}.part"
    stale_dir.mkdir()
    (stale_dir / "page-00001.png").write_bytes(b"png")
    old_dir = tmp_path / f".pages.{dead}.old"
    old_dir.mkdir()
    running = tmp_path / f".other.csv.{os.getppid()}.part"  # a live process's run
    running.write_text("in progress")
    mine = temporary_name(tmp_path / "mine.csv")
    mine.write_text("this process")
    unrelated = [tmp_path / ".notes.part", tmp_path / f"codes.{dead}.part", tmp_path / f".x.{dead}.partial"]
    for path in unrelated:
        path.write_text("not ours")
    removed = clean_stale_parts(tmp_path)
    assert sorted(removed) == sorted([stale, stale_dir, old_dir])
    assert sorted(tmp_path.iterdir()) == sorted([running, mine, *unrelated])


def test_the_next_write_in_the_directory_cleans_up(tmp_path: Path) -> None:
    stale = tmp_path / f".big.pdf.{dead_pid()}.part"
    stale.write_text("codes")
    with AtomicFile(tmp_path / "other.csv") as f:
        f.write(b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.csv"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_termination_signals_clean_up_like_ctrl_c(tmp_path: Path, signum: int) -> None:
    out = tmp_path / "codes.csv"
    before = signal.getsignal(signum)
    with pytest.raises(KeyboardInterrupt), interrupt_on_termination(), AtomicFile(out) as f:
        f.write(b"half")
        os.kill(os.getpid(), signum)
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signum) == before  # the previous handler is back
