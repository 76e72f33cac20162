"""Every command has help text (sqlite-utils' habit)."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main

from loyalcode.cli import app, main, register_commands


def _commands() -> list[tuple[str, ...]]:
    register_commands()
    root = typer.main.get_command(app)
    out: list[tuple[str, ...]] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        out.append(path)
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, (*path, name))

    walk(root, ())
    return out


COMMANDS = _commands()


def test_codegen_commands_are_there() -> None:
    names = {" ".join(p) for p in COMMANDS}
    assert {"init", "db upgrade", "db check", "channel add", "channel list", "batch create",
            "batch list", "batch show", "batch void", "export", "check"} <= names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "root")
def test_every_command_has_help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        main([*path, "--help"])
    except SystemExit as done:
        assert done.code in (0, None)
    out = capsys.readouterr().out
    assert "Usage:" in out
    root = typer.main.get_command(app)
    cmd: Any = root
    for name in path:
        cmd = cmd.commands[name]  # type: ignore[attr-defined]
    assert (cmd.help or "").strip(), f"{' '.join(path)} has no help text"
    for param in cmd.params:
        if param.param_type_name == "option" and param.name not in ("help",):
            assert (param.help or "").strip(), f"{' '.join(path)} {param.opts} has no help"
