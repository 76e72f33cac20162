"""The ``loyalcode`` command line: a thin typer shell over the library packages.

Each area registers its commands from its own module (``codegen``, ``printing``,
``redemption``, ``loyalty``). Commands call library functions, print text or
``--json`` on stdout, progress and messages on stderr, and raise the library's
``LoyalcodeError``; :func:`main` turns those into one stderr line, a JSON error body
when ``--json`` was given, and a non-zero exit code.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO, cast

import typer

from loyalcode.errors import LoyalcodeError

app = typer.Typer(
    name="loyalcode",
    help="One-item-one-code (一物一码) hidden loyalty codes: create, print, redeem.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class State:
    """Options of the root command, shared with every subcommand."""

    db_url: str | None = None
    quiet: bool = False


state = State()


@app.callback()
def root(
    db: str | None = typer.Option(
        None, "--db", help="Database URL (overrides LOYALCODE_DATABASE_URL).", metavar="URL"
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or notices."),
) -> None:
    """One-item-one-code (一物一码) hidden loyalty codes: create, print, redeem."""
    state.db_url = db
    state.quiet = quiet


def open_deployment(*, create: bool = False) -> Any:
    """The deployment (database, settings, key) that ``--db`` or the environment names.

    Only ``init`` and ``db upgrade`` (``create=True``) may bring a database file into
    being; any other command on a SQLite file that does not exist is refused with
    ``not_initialized`` before anything connects (connecting would create the file).
    """
    from loyalcode.store.context import open_context

    ctx = open_context(state.db_url)
    if not create:
        ctx.require_database()
    return ctx


@contextmanager
def deployment() -> Iterator[Any]:
    """:func:`open_deployment`, its connections closed when the command ends."""
    ctx = open_deployment()
    try:
        yield ctx
    finally:
        ctx.dispose()


def emit_json(value: Any) -> None:
    """Print one JSON document (or one JSON line) on stdout."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=str) + "\n")


def notice(message: str) -> None:
    """A message for the person at the terminal: stderr, silenced by ``--quiet``."""
    if not state.quiet:
        typer.echo(message, err=True)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``word`` for one, else ``many`` (default: ``word`` + "s"): "1 point", "2 points"."""
    return word if count == 1 else (many or word + "s")


def parse_date(value: str | None, field: str) -> dt.date | None:
    """An option's ``YYYY-MM-DD`` (``None`` when not given), or :class:`InvalidDate`."""
    from loyalcode.errors import InvalidDate

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidDate(value=value, field=field) from None


def progress(length: int, label: str):  # type: ignore[no-untyped-def]
    """A progress bar on stderr (a no-op bar under ``--quiet``)."""
    return typer.progressbar(
        length=length,
        label=label,
        file=sys.stderr if not state.quiet else cast(TextIO, _NullFile()),
        show_eta=True,
        show_percent=True,
    )


class _NullFile:
    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def register_commands() -> None:
    """Import every command area; each registers its commands on :data:`app`.

    The modules stay light to import: heavy libraries load inside the commands.
    """
    import importlib

    # In the order `loyalcode --help` lists them: set-up, codes, shipping, printing,
    # the scan, the programme, the outbox, the reports.
    for area in ("store", "codegen", "channels", "logistics", "printing", "redemption", "loyalty",
                 "events", "reports", "service"):
        importlib.import_module(f"loyalcode.cli.{area}")


def _database_error(exc: BaseException) -> LoyalcodeError | None:
    """A database error no library call turned into ours (a table missing: the
    schema was never created; the server gone) as ``not_initialized``,
    ``database_unavailable`` or ``database_error``; ``None`` for anything else."""
    from sqlalchemy import exc as sa_exc

    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    from loyalcode.store import db
    from loyalcode.store.config import database_url

    return db.typed_error(db.make_engine(database_url(state.db_url)), exc)


def _wants_json(argv: list[str]) -> bool:
    return "--json" in argv


_ROOT_FLAGS = ("--quiet", "-q")


def root_options_first(argv: list[str]) -> list[str]:
    """``argv`` with the root's options (``--db URL``, ``--db=URL``, ``--quiet``/``-q``)
    moved before the sub-command, so that they work wherever they are written
    (``loyalcode batch list --db URL``). Nothing after ``--`` is touched, and an
    option's own value is never taken for one (no sub-command has ``--db`` or ``-q``)."""
    root: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        if arg in _ROOT_FLAGS:
            root.append(arg)
        elif arg == "--db" and i + 1 < len(argv):
            root += [arg, argv[i + 1]]
            i += 1
        elif arg.startswith("--db="):
            root.append(arg)
        else:
            rest.append(arg)
        i += 1
    return root + rest


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    argv = root_options_first(list(sys.argv[1:] if argv is None else argv))
    register_commands()
    try:
        # Without standalone mode, click returns the code of a ``typer.Exit(n)``
        # instead of exiting: honour it.
        rc = app(args=argv, prog_name="loyalcode", standalone_mode=False)
        if rc == 130:  # typer turns KeyboardInterrupt (Ctrl-C, SIGTERM, SIGHUP) into Exit(130)
            raise KeyboardInterrupt
        if isinstance(rc, int) and rc != 0:
            raise SystemExit(rc)
    except LoyalcodeError as exc:
        if _wants_json(argv):
            emit_json({"error": exc.to_dict()})
        typer.echo(f"error [{exc.code}]: {exc.message}", err=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        typer.echo("error [interrupted]: interrupted; nothing partial was kept.", err=True)
        raise SystemExit(130) from None
    except SystemExit:
        raise
    except (typer.Exit, typer.Abort) as exc:
        code = getattr(exc, "exit_code", None)
        if code is None:  # Abort: Ctrl-C at a prompt
            typer.echo("error [interrupted]: aborted.", err=True)
            raise SystemExit(130) from None
        raise SystemExit(code) from None
    except Exception as exc:
        typed = _database_error(exc)
        if typed is not None:  # a command that met the database unprepared: no traceback
            if _wants_json(argv):
                emit_json({"error": typed.to_dict()})
            typer.echo(f"error [{typed.code}]: {typed.message}", err=True)
            raise SystemExit(1) from None
        # typer/click usage errors (bad option, missing argument): one line, exit 2.
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            message = exc.format_message().replace("\n", " ")
            if _wants_json(argv):
                emit_json({"error": {"code": "usage", "message": message}})
            typer.echo(f"error [usage]: {message}", err=True)
            raise SystemExit(exc.exit_code or 2) from None
        raise
