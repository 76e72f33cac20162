"""Files that hold codes: written whole or not at all, readable by their owner only.

A code file is money, so every file loyalcode writes with codes in it (an export, a
label sheet, a ZPL job) goes through :class:`AtomicFile`:

- A regular path (or a path that does not exist yet) is written through a hidden
  temporary file beside it, ``.NAME.PID.part``, created with mode 0600 and renamed over
  the path when complete: the final file is 0600 even when it replaces a file that was
  more open. An error, ``KeyboardInterrupt`` or ``SystemExit`` removes the temporary file.
- A symlink, FIFO, socket or device at the path is refused (``output_not_regular``):
  renaming over it would replace a symlink or turn ``/dev/full`` into a regular file of
  live codes. With ``stream=True`` the path is opened and written straight, no temporary
  file: how ZPL reaches a Zebra printer at ``/dev/usb/lp0`` or a spooler's FIFO.
- A ``.part`` left by a process that died (SIGKILL, a power cut) is removed by the next
  :class:`AtomicFile` in that directory: :func:`clean_stale_parts` removes only those
  whose owning process is gone.

:func:`interrupt_on_termination` turns SIGTERM and SIGHUP into ``KeyboardInterrupt``
while a file is being written, so a stopped run cleans up as on Ctrl-C.

The module sits in ``store`` (the bottom layer) so that every package and face that
writes codes (export, printing) shares it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from loyalcode.errors import OutputNotRegular, OutputNotWritable

#: Hidden temporary names of :class:`AtomicFile` (``.part``) and of a page directory
#: being replaced (``.old``), with the pid of the process that owns them.
_TEMPORARY = re.compile(r"\..+\.(\d+)\.(?:part|old)", re.DOTALL)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def temporary_name(path: Path, kind: str = "part") -> Path:
    """The hidden temporary name of ``path`` for this process: ``.NAME.PID.part``."""
    return path.with_name(f".{path.name}.{os.getpid()}.{kind}")


def unwritable(path: str | os.PathLike[str], exc: OSError | str) -> OutputNotWritable:
    """:class:`OutputNotWritable` for ``path`` with an OS error's reason (or a text)."""
    reason = exc if isinstance(exc, str) else (exc.strerror or type(exc).__name__)
    return OutputNotWritable(path=str(path), reason=reason)


def _kind(mode: int) -> str | None:
    """What a non-regular, non-directory file is (``None`` for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def check_output(path: str | os.PathLike[str], *, stream: bool = False) -> None:
    """Refuse an output path that cannot be written before any work starts.

    :class:`OutputNotWritable` for a missing or unwritable directory or a directory at
    the path; :class:`OutputNotRegular` for a symlink, FIFO, socket or device unless
    ``stream`` (then it is written straight).
    """
    path = Path(path)
    parent = path.parent
    if not parent.is_dir():
        raise unwritable(path, f"the directory {parent} does not exist")
    try:
        mode: int | None = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise unwritable(path, exc) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise unwritable(path, "it is a directory")
    if mode is not None and not stat.S_ISREG(mode):
        if not stream:
            raise OutputNotRegular(path=str(path), kind=_kind(mode))
        if stat.S_ISLNK(mode) and Path(path).is_dir():
            raise unwritable(path, "it is a link to a directory")
        return
    if not stream and not os.access(parent, os.W_OK | os.X_OK):
        raise unwritable(path, f"the directory {parent} is not writable")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clean_stale_parts(directory: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files and page directories (``.NAME.PID.part``,
    ``.NAME.PID.old``) in ``directory`` whose owning process is dead; return them.

    Only this user's entries are touched, and never one of a live process (a run in
    progress) or of this process.
    """
    removed: list[Path] = []
    me = os.getpid()
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed  # an unreadable directory: the write itself will say why
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid == me or _alive(pid):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if uid is not None and info.st_uid != uid:
                continue
            if stat.S_ISDIR(info.st_mode):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except FileNotFoundError:
            continue  # another run cleaned it first
        removed.append(Path(entry.path))
    return removed


def create_private(path: str | os.PathLike[str]) -> bool:
    """Create ``path`` empty with mode 0600 unless it exists; ``True`` if created.

    A missing directory is left for the caller to report.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC, 0o600)
    except (FileExistsError, FileNotFoundError):
        return False
    os.close(fd)
    return True


class AtomicFile:
    """``with AtomicFile(path) as f: ...`` writes ``path`` (mode 0600) all at once or
    not at all; with ``stream=True`` straight to the path (a device, a FIFO)."""

    def __init__(self, path: str | os.PathLike[str], *, stream: bool = False) -> None:
        self.path = Path(path)
        self.stream = stream
        self.tmp = temporary_name(self.path)
        self._file: BinaryIO | None = None
        self._regular = True

    def __enter__(self) -> BinaryIO:
        check_output(self.path, stream=self.stream)
        try:
            if self.stream:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_CLOEXEC, 0o600)
                self._regular = stat.S_ISREG(os.fstat(fd).st_mode)
            else:
                clean_stale_parts(self.path.parent)
                self.tmp.unlink(missing_ok=True)  # an earlier run of this process, if any
                fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600)
            if self._regular:
                os.fchmod(fd, 0o600)  # whatever the umask or the file it replaces
        except OSError as exc:
            raise unwritable(self.path, exc) from None
        self._file = os.fdopen(fd, "wb")
        return self._file

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._file is not None
        if self.stream:
            self._exit_stream(kind)
        else:
            self._exit_atomic(kind)
        if isinstance(exc, OSError):
            raise unwritable(self.path, exc) from None

    def _exit_atomic(self, kind: type[BaseException] | None) -> None:
        assert self._file is not None
        try:
            self._file.close()
            if kind is None:
                os.replace(self.tmp, self.path)
        except OSError as err:
            self.tmp.unlink(missing_ok=True)
            raise unwritable(self.path, err) from None
        finally:
            if kind is not None:
                self.tmp.unlink(missing_ok=True)

    def _exit_stream(self, kind: type[BaseException] | None) -> None:
        assert self._file is not None
        try:
            if kind is not None and self._regular:
                # Nothing half-written: a regular file keeps no partial codes. (What a
                # device or a FIFO's reader already took cannot be taken back.)
                self._file.truncate(0)
            self._file.close()
        except OSError as err:
            if kind is None:
                raise unwritable(self.path, err) from None


@contextmanager
def interrupt_on_termination() -> Iterator[None]:
    """While active (in the main thread), SIGTERM and SIGHUP raise ``KeyboardInterrupt``,
    so the temporary output is removed as on Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    names = [name for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {name: signal.signal(getattr(signal, name), handler) for name in names}
    try:
        yield
    finally:
        for name, old in previous.items():
            signal.signal(getattr(signal, name), old)
