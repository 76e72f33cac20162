"""``loyalcode check``: ok / typo / malformed / forged, offline, no code state read."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, event, text

from loyalcode.codegen import checkchar, codec
from loyalcode.codegen.codeformat import ALPHABET, group
from tests.conftest import Cli


@pytest.fixture
def samples(cli: Cli, keyring) -> dict[str, str]:
    r = cli("batch", "create", "--sku", "S", "--quantity", "100", "--points", "1", "--json")
    start = r.json()["serial_start"]
    good = codec.encode(keyring, start + 5)
    wrong = ALPHABET[(ALPHABET.index(good[6]) + 1) % 32]
    typo = good[:6] + wrong + good[7:]
    payload = good[:14] + ("0" if good[14] != "0" else "1")
    forged = payload + checkchar.calc_check_symbol(payload)
    return {"ok": good, "typo": typo, "forged": forged, "malformed": "HELLO-WORLD"}


def test_args_statuses_and_json_shape(cli: Cli, samples: dict[str, str]) -> None:
    inputs = [group(samples["ok"]).lower(), samples["typo"], samples["forged"], samples["malformed"]]
    r = cli("check", *inputs, "--json")
    assert r.exit_code == 1
    lines = r.json_lines()
    assert [x["status"] for x in lines] == ["ok", "typo", "forged", "malformed"]
    assert [x["input"] for x in lines] == inputs
    assert all(set(x) == {"input", "status", "code"} for x in lines)
    assert lines[0]["code"] == group(samples["ok"])
    assert [x["code"] for x in lines[1:]] == [None, None, None]
    assert r.stderr == ""


def test_exit_zero_only_when_all_ok(cli: Cli, samples: dict[str, str], keyring) -> None:
    other = codec.encode(keyring, 50)
    r = cli("check", samples["ok"], f"https://lc.example.com/c/{other}")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [f"ok\t{group(samples['ok'])}", f"ok\t{group(other)}"]
    for bad in ("typo", "forged", "malformed"):
        assert cli("check", samples["ok"], samples[bad]).exit_code == 1


def test_stdin(cli: Cli, samples: dict[str, str], keyring) -> None:
    codes = codec.derive_codes(keyring, __import__("numpy").arange(1, 70_001, dtype="uint64"))
    body = "\r\n".join(group(c) for c in codes) + "\n"
    r = cli("check", "-", "--json", stdin=body)
    assert r.exit_code == 0, r.stderr[:300]
    lines = r.json_lines()
    assert len(lines) == 70_000 and all(x["status"] == "ok" for x in lines)
    mixed = "\n".join([samples["ok"], samples["typo"], "", samples["forged"], "x\"y\\z"]) + "\n"
    r = cli("check", "-", "--json", stdin=mixed)
    assert r.exit_code == 1
    assert [x["status"] for x in r.json_lines()] == ["ok", "typo", "malformed", "forged", "malformed"]
    assert r.json_lines()[-1]["input"] == "x\"y\\z"  # quoting survives


def test_unicode_input_is_echoed_as_json(cli: Cli, samples: dict[str, str]) -> None:
    full = "".join(chr(ord(c) + 0xFEE0) for c in samples["ok"])
    r = cli("check", full, "码", "--json")
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert lines[0] == {"input": full, "status": "ok", "code": group(samples["ok"])}
    assert lines[1]["status"] == "malformed" and lines[1]["input"] == "码"


def test_check_reads_no_code_state(cli: Cli, samples: dict[str, str]) -> None:
    """Every SQL statement `check` runs is counted: it reads the deployment row (the
    key's fingerprint) and nothing else; a forged or random code costs no query."""
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        r = cli("check", samples["forged"], samples["ok"], samples["typo"], "--json")
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert [x["status"] for x in r.json_lines()] == ["forged", "ok", "typo"]
    reads = [s for s in statements if s.strip().upper().startswith("SELECT")]
    assert reads and all("deployment" in s for s in reads), statements
    assert not any("batches" in s or "redemption" in s for s in statements)


def test_check_works_with_the_code_tables_gone(cli: Cli, samples: dict[str, str]) -> None:
    """Drop every table but the deployment row after init: check still decides."""
    from loyalcode.migrations.metadata import metadata
    from loyalcode.store.db import make_engine

    engine = make_engine(cli.db_url)
    names = [t.name for t in reversed(metadata().sorted_tables) if t.name != "deployment"]
    with engine.begin() as conn:
        for name in names:
            conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE' if engine.dialect.name != "sqlite"
                              else f'DROP TABLE IF EXISTS "{name}"'))
    engine.dispose()
    r = cli("check", samples["ok"], samples["forged"], samples["typo"], samples["malformed"], "--json")
    assert [x["status"] for x in r.json_lines()] == ["ok", "forged", "typo", "malformed"]
