"""``loyalcode init``: schema, deployment row, key file; never overwrites a key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.codegen.util import snapshot
from tests.conftest import Cli


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No LOYALCODE_KEY; the key file is ``tmp/keys/loyalcode.key`` (not there yet)."""
    monkeypatch.delenv("LOYALCODE_KEY", raising=False)
    monkeypatch.delenv("LOYALCODE_DATABASE_URL", raising=False)
    monkeypatch.delenv("LOYALCODE_CONFIG", raising=False)
    path = tmp_path / "keys" / "loyalcode.key"
    monkeypatch.setenv("LOYALCODE_KEY_FILE", str(path))
    return path


def test_init_creates_key_then_is_idempotent(empty_db_url: str, no_key: Path) -> None:
    cli = Cli(empty_db_url)
    r = cli("init", "--json")
    assert r.exit_code == 0, r.stderr
    body = r.json()
    assert body["key_created"] is True and body["revision"]
    assert stat.S_IMODE(os.stat(no_key).st_mode) == 0o600
    key_text = no_key.read_text()
    assert len(key_text.strip()) == 64
    r = cli("init")  # plain text: says the key is needed
    assert r.exit_code == 0
    before = snapshot(empty_db_url)
    r = cli("init", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["key_created"] is False and r.json()["fingerprint"] == body["fingerprint"]
    assert no_key.read_text() == key_text  # never overwritten
    assert snapshot(empty_db_url) == before


def test_init_says_the_key_matters(empty_db_url: str, no_key: Path) -> None:
    r = Cli(empty_db_url)("init")
    assert r.exit_code == 0
    assert "KEEP IT SAFE" in r.stderr and "export, print, check and redeem" in r.stderr
    assert str(no_key) in r.stderr
    assert no_key.read_text().strip() not in r.stdout + r.stderr  # the key is never shown


def test_init_with_key_file_missing_but_database_has_key(empty_db_url: str, no_key: Path) -> None:
    """The database has a key; the key file is gone: init refuses (key_missing) and
    does not make a new key, which would silently orphan every printed code."""
    cli = Cli(empty_db_url)
    assert cli("init").exit_code == 0
    no_key.unlink()
    before = snapshot(empty_db_url)
    r = cli("init", "--json")
    assert r.exit_code == 1
    assert r.json()["error"]["code"] == "key_missing"
    assert len(r.stderr.splitlines()) == 1
    assert not no_key.exists()
    assert snapshot(empty_db_url) == before


def test_init_with_another_key_is_key_mismatch(empty_db_url: str, no_key: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cli = Cli(empty_db_url)
    assert cli("init").exit_code == 0
    original = no_key.read_text()
    before = snapshot(empty_db_url)
    monkeypatch.setenv("LOYALCODE_KEY", "11" * 32)
    r = cli("init", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "key_mismatch"
    monkeypatch.delenv("LOYALCODE_KEY")
    no_key.write_text("22" * 32 + "\n")
    r = cli("init", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "key_mismatch"
    assert snapshot(empty_db_url) == before
    no_key.write_text(original)
    assert cli("init").exit_code == 0


def test_init_adopts_a_configured_key(empty_db_url: str, no_key: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from loyalcode.store.keys import Keyring

    monkeypatch.setenv("LOYALCODE_KEY", "33" * 32)
    r = Cli(empty_db_url)("init", "--json")
    assert r.exit_code == 0 and r.json()["key_adopted"] is True
    assert r.json()["fingerprint"] == Keyring(bytes.fromhex("33" * 32)).fingerprint[:8]
    assert not no_key.exists()


def test_init_never_overwrites_an_existing_key_file(tmp_path: Path, no_key: Path) -> None:
    """A key file already there (another database's) is adopted, never replaced."""
    no_key.parent.mkdir()
    no_key.write_text("44" * 32 + "\n")
    no_key.chmod(0o600)
    r = Cli(f"sqlite:///{tmp_path / 'a.db'}")("init", "--json")
    assert r.exit_code == 0 and r.json()["key_adopted"] is True
    assert no_key.read_text() == "44" * 32 + "\n"


def test_default_paths_in_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no settings at all: ./loyalcode.db and ./loyalcode.key in the working directory."""
    for name in ("LOYALCODE_KEY", "LOYALCODE_KEY_FILE", "LOYALCODE_DATABASE_URL", "LOYALCODE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    from loyalcode.cli import main

    try:
        main(["-q", "init"])
    except SystemExit as done:
        assert done.code in (0, None)
    assert (tmp_path / "loyalcode.db").exists()
    assert stat.S_IMODE(os.stat(tmp_path / "loyalcode.key").st_mode) == 0o600
