"""Atomic output: a file or a directory of pages appears under its final name only
when complete.

Everything is written under a hidden temporary name beside the target
(``.NAME.PID.part``) and renamed at the end. On any error, ``KeyboardInterrupt`` or
``SystemExit`` the temporary output is removed, so an interrupted run leaves nothing
half-written under the name the operator asked for.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from loyalcode.printing.errors import OutputNotWritable

_PAGE = re.compile(r"page-\d{5,}\.png")


def page_name(number: int) -> str:
    """File name of PNG page ``number`` (1-based): ``page-00001.png``."""
    return f"page-{number:05d}.png"


def _fail(path: Path, exc: OSError | str) -> OutputNotWritable:
    reason = exc if isinstance(exc, str) else (exc.strerror or type(exc).__name__)
    return OutputNotWritable(path=str(path), reason=reason)


class AtomicFile:
    """``with AtomicFile(path) as f: ...`` writes ``path`` all at once or not at all."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.part")
        self._file: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        if self.path.is_dir():
            raise _fail(self.path, "it is a directory")
        try:
            self._file = open(self.tmp, "wb")
        except OSError as exc:
            raise _fail(self.path, exc) from None
        return self._file

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._file is not None
        try:
            self._file.close()
            if kind is None:
                os.replace(self.tmp, self.path)
        except OSError as err:
            self.tmp.unlink(missing_ok=True)
            raise _fail(self.path, err) from None
        finally:
            if kind is not None:
                self.tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _fail(self.path, exc) from None


class AtomicPageDir:
    """A directory of ``page-00001.png`` ... that appears complete or not at all.

    An existing directory is replaced only if it is empty or holds nothing but pages of
    an earlier run (a reprint); any other directory is refused.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.part")
        self.pages = 0

    def __enter__(self) -> Self:
        if self.path.exists():
            if not self.path.is_dir():
                raise _fail(self.path, "it exists and is not a directory")
            others = [p.name for p in self.path.iterdir() if not _PAGE.fullmatch(p.name)]
            if others:
                raise _fail(self.path, "the directory holds files other than label pages")
        shutil.rmtree(self.tmp, ignore_errors=True)
        try:
            self.tmp.mkdir()
        except OSError as exc:
            raise _fail(self.path, exc) from None
        return self

    def write_page(self, data: bytes) -> None:
        """Write the next page's PNG bytes."""
        self.pages += 1
        with open(self.tmp / page_name(self.pages), "wb") as f:
            f.write(data)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            if isinstance(exc, OSError):
                raise _fail(self.path, exc) from None
            return
        old = None
        try:
            if self.path.exists():
                old = self.path.with_name(f".{self.path.name}.{os.getpid()}.old")
                os.rename(self.path, old)
            os.rename(self.tmp, self.path)
        except OSError as err:
            if old is not None and not self.path.exists():
                os.rename(old, self.path)
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise _fail(self.path, err) from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def preflight(path: str | os.PathLike[str], fmt: str) -> None:
    """Refuse an output path that cannot work before any rendering starts."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise _fail(path, f"the directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _fail(path, f"the directory {parent} is not writable")
    if fmt == "png":
        if path.exists() and not path.is_dir():
            raise _fail(path, "it exists and is not a directory")
    elif path.is_dir():
        raise _fail(path, "it is a directory")
