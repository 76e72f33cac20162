"""Atomic output: a file or a directory of pages appears under its final name only
when complete, readable by its owner only.

A file (pdf, zpl) is :class:`loyalcode.store.files.AtomicFile` (shared with ``export``):
a hidden temporary ``.NAME.PID.part`` (0600) renamed when complete, or with ``stream``
written straight to a device or FIFO. A directory of PNG pages is built the same way
under ``.NAME.PID.part`` (0700, pages 0600) and renamed. On any error,
``KeyboardInterrupt`` or ``SystemExit`` the temporary output is removed, so an
interrupted run leaves nothing half-written under the name the operator asked for; what
a killed process left is removed by the next run in that directory.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path
from types import TracebackType
from typing import Self

from loyalcode.errors import InvalidInput
from loyalcode.printing.errors import OutputNotRegular
from loyalcode.store.files import check_output, clean_stale_parts, temporary_name, unwritable

_PAGE = re.compile(r"page-\d{5,}\.png")
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def page_name(number: int) -> str:
    """File name of PNG page ``number`` (1-based): ``page-00001.png``."""
    return f"page-{number:05d}.png"


def _check_page_dir(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise OutputNotRegular(path=str(path), kind="a symbolic link")
    if not stat.S_ISDIR(mode):
        raise unwritable(path, "it exists and is not a directory")
    others = [p.name for p in path.iterdir() if not _PAGE.fullmatch(p.name)]
    if others:
        raise unwritable(path, "the directory holds files other than label pages")


class AtomicPageDir:
    """A directory of ``page-00001.png`` ... that appears complete or not at all.

    An existing directory is replaced only if it is empty or holds nothing but pages of
    an earlier run (a reprint); any other directory is refused.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.tmp = temporary_name(self.path)
        self.pages = 0

    def __enter__(self) -> Self:
        _check_page_dir(self.path)
        clean_stale_parts(self.path.parent)
        shutil.rmtree(self.tmp, ignore_errors=True)
        try:
            self.tmp.mkdir(mode=0o700)
            os.chmod(self.tmp, 0o700)  # whatever the umask
        except OSError as exc:
            raise unwritable(self.path, exc) from None
        return self

    def write_page(self, data: bytes) -> None:
        """Write the next page's PNG bytes (mode 0600)."""
        self.pages += 1
        fd = os.open(self.tmp / page_name(self.pages), os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            if isinstance(exc, OSError):
                raise unwritable(self.path, exc) from None
            return
        old = None
        try:
            if self.path.exists():
                old = temporary_name(self.path, "old")
                os.rename(self.path, old)
            os.rename(self.tmp, self.path)
        except OSError as err:
            if old is not None and not self.path.exists():
                os.rename(old, self.path)
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise unwritable(self.path, err) from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def preflight(path: str | os.PathLike[str], fmt: str, *, stream: bool = False) -> None:
    """Refuse an output path that cannot work before any rendering starts."""
    path = Path(path)
    if fmt != "png":
        check_output(path, stream=stream)
        return
    if stream:
        raise InvalidInput(detail="--stream writes one file: use it with pdf or zpl, not png (a directory of pages).")
    parent = path.parent
    if not parent.is_dir():
        raise unwritable(path, f"the directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise unwritable(path, f"the directory {parent} is not writable")
    _check_page_dir(path)
