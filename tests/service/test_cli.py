"""`loyalcode apikey` and the refusals of `loyalcode serve` before it listens."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
def test_apikey_create_list_revoke(cli: Cli) -> None:
    created = cli("apikey", "create", "--name", "crm", "--scope", "redeem", "--json")
    assert created.exit_code == 0, created.stderr
    body = created.json()
    assert body["key"].startswith("lck_") and body["scopes"] == ["redeem"]
    plain = cli("apikey", "create", "--name", "scanner", "--scope", "logistics")
    token = plain.stdout.strip()
    assert token.startswith("lck_") and "shown once" in plain.stderr
    listed = cli("apikey", "list", "--json")
    assert [k["name"] for k in listed.json()] == ["crm", "scanner"]
    assert body["key"] not in listed.stdout and token not in listed.stdout
    text = cli("apikey", "list")
    assert token not in text.stdout and token.split("_", 2)[2] not in text.stdout
    revoked = cli("apikey", "revoke", str(body["id"]), "--json")
    assert revoked.json()["active"] is False
    bad = cli("apikey", "create", "--name", "x", "--scope", "root", "--json")
    assert bad.exit_code == 1 and bad.json()["error"]["code"] == "invalid_scope"
    missing = cli("apikey", "revoke", "77", "--json")
    assert missing.exit_code == 1 and missing.json()["error"]["code"] == "api_key_not_found"


def test_serve_refuses_an_uninitialised_database(tmp_path: Path, key_env: str) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'none.db'}")
    result = cli.subprocess("serve", "--port", "0", timeout=60)
    assert result.exit_code == 1
    assert result.stderr.startswith("error [not_initialized]")
    assert not (tmp_path / "none.db").exists()


def test_serve_refuses_the_wrong_key(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = Cli(sqlite_db_url, env={"LOYALCODE_KEY": "ab" * 32})
    result = cli.subprocess("serve", "--port", "0", timeout=60)
    assert result.exit_code == 1
    assert result.stderr.startswith("error [key_mismatch]")
