"""Every command on a database nobody initialised: ``not_initialized`` in one line
(and as JSON), never a traceback, and no database file left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli

COMMANDS = [
    ["channel", "list"],
    ["channel", "add", "X", "--name", "x", "--kind", "retailer", "--region", "31"],
    ["batch", "create", "--sku", "S", "--quantity", "5", "--points", "1"],
    ["batch", "list"],
    ["batch", "show", "1"],
    ["batch", "void", "1", "--yes"],
    ["batch", "update", "1", "--payload", "HTTPS://QR.BRAND.CN/C/{code}"],
    ["export", "1"],
    ["check", "0000-0000-0000-0000"],
    ["print", "1", "--template", "a4-3x8", "--out", "{tmp}/out.pdf"],
    ["activate", "1", "--channel", "X", "--from", "1", "--to", "2"],
    ["activation", "list"],
    ["activation", "undo", "1"],
    ["lookup", "4EXGN9KY"],
    ["redeem", "0000-0000-0000-0000", "--phone", "13800138000"],
    ["member", "show", "--phone", "13800138000"],
    ["member", "bind", "--phone", "13800138000", "--openid", "o1"],
    ["member", "update", "--phone", "13800138000", "--name", "x"],
    ["member", "profile", "--phone", "13800138000"],
    ["gift", "add", "G", "--name", "g", "--points", "1", "--stock", "1"],
    ["gift", "list"],
    ["gift", "redeem", "G", "--phone", "13800138000"],
    ["gift", "cancel", "1"],
    ["points", "expire"],
    ["tiers", "evaluate"],
    ["events", "list"],
    ["events", "ack", "1"],
    ["events", "purge", "--older-than", "1"],
    ["events", "dispatch", "--url", "http://127.0.0.1:9/"],
    ["report"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_command_refuses_a_database_without_schema(
    empty_db_url: str, key_env: str, tmp_path: Path, args: list[str]
) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    cli = Cli(empty_db_url)
    r = cli(*argv, "--json")
    assert r.exit_code == 1, (args, r.stderr)
    assert r.stderr.startswith("error [not_initialized]: "), (args, r.stderr)
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert r.json()["error"]["code"] == "not_initialized"
    if empty_db_url.startswith("sqlite"):
        assert not (tmp_path / "loyalcode.db").exists(), args
        # an empty file (no schema) is refused the same way
        (tmp_path / "loyalcode.db").touch()
        r = cli(*argv, "--json")
        assert r.stderr.startswith("error [not_initialized]: "), (args, r.stderr)
