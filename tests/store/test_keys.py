"""The key: loading, file creation, subkeys, fingerprint, never shown."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from loyalcode.errors import InvalidKey, KeyFilePermissions, KeyMismatch, KeyMissing, LoyalcodeError
from loyalcode.store.keys import Keyring, KeySource, create_key_file, find_key, load_key, parse_key

KEY = "ab" * 32


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("LOYALCODE_KEY", raising=False)
    monkeypatch.delenv("LOYALCODE_KEY_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_env_wins_over_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / "loyalcode.key").write_text("cd" * 32)
    monkeypatch.setenv("LOYALCODE_KEY", KEY)
    key, source = load_key()
    assert key == bytes.fromhex(KEY) and source.description == "LOYALCODE_KEY"


def test_default_file_and_named_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_key() is None
    with pytest.raises(KeyMissing) as err:
        load_key()
    assert err.value.code == "key_missing"
    (clean_env / "loyalcode.key").write_text(KEY + "\n")
    (clean_env / "loyalcode.key").chmod(0o600)
    assert load_key()[0] == bytes.fromhex(KEY)
    other = clean_env / "sub" / "k"
    other.parent.mkdir()
    other.write_text("  " + "cd" * 32 + "\n")
    other.chmod(0o400)
    monkeypatch.setenv("LOYALCODE_KEY_FILE", str(other))
    assert load_key()[0] == bytes.fromhex("cd" * 32)


@pytest.mark.parametrize("text", ["", "ab" * 31, "ab" * 33, "zz" * 32, "ab" * 31 + "g0"])
def test_invalid_key_text(text: str) -> None:
    with pytest.raises(InvalidKey) as err:
        parse_key(text, KeySource("test"))
    assert text[:8] not in err.value.message or not text


def test_create_key_file_mode_and_no_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "d" / "loyalcode.key"
    key = create_key_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text().strip() == key.hex()
    with pytest.raises(LoyalcodeError):
        create_key_file(path)
    assert path.read_text().strip() == key.hex()


def test_fingerprint_and_mismatch() -> None:
    a, b = Keyring(bytes.fromhex(KEY)), Keyring(bytes(32))
    assert a.fingerprint != b.fingerprint and len(a.fingerprint) == 32
    a.verify(a.fingerprint, KeySource("x"))
    with pytest.raises(KeyMismatch) as err:
        a.verify(b.fingerprint, KeySource("x"))
    assert err.value.code == "key_mismatch"


def test_key_material_never_shown() -> None:
    ring = Keyring(bytes.fromhex(KEY))
    assert KEY not in repr(ring) and "abab" not in repr(ring)
    with pytest.raises(InvalidKey):
        Keyring(b"short")


def test_subkeys_are_independent() -> None:
    """F1 and F2 use different subkeys: the same input gives unrelated outputs."""
    ring = Keyring(bytes.fromhex(KEY))
    assert ring.tag(5) != ring.mask(5) << 5 >> 5 or ring.tag(5) >> 5 != ring.mask(5)
    assert ring.tag(5) >> 5 != ring.mask(5)


def test_identity_key_is_pinned_keyed_and_separated_by_kind() -> None:
    """F4, the keyed hash under which phones, openids and sources are stored: pinned
    (a change would orphan every stored key), different under another key, and
    different for the same value of another kind."""
    a, b = Keyring(bytes.fromhex(KEY)), Keyring(bytes.fromhex("cd" * 32))
    assert a.identity_key("phone", "+8613800138000") == "bc06d9b0c8761cce358269ef455b3194"
    assert a.identity_key("openid", "+8613800138000") == "ef2709ae8374526fdee25a4c669f6e9a"
    assert a.identity_key("source", "203.0.113.7") == "65e1947a4c2224ea6fbacaa71bc7e2a1"
    assert b.identity_key("phone", "+8613800138000") != a.identity_key("phone", "+8613800138000")
    assert "8613800138000" not in a.identity_key("phone", "+8613800138000")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o660, 0o666])
def test_key_file_open_to_group_or_others_is_refused(clean_env: Path, mode: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """As ssh refuses such a private key: anyone who reads it can make valid codes."""
    path = clean_env / "my keys" / "loyalcode.key"
    path.parent.mkdir()
    path.write_text(KEY + "\n")
    path.chmod(mode)
    monkeypatch.setenv("LOYALCODE_KEY_FILE", str(path))
    with pytest.raises(KeyFilePermissions) as err:
        load_key()
    assert err.value.code == "key_file_permissions"
    assert f"mode 0{mode:o}" in err.value.message
    assert f"chmod 600 '{path}'" in err.value.message  # the command to run, quoted
    assert KEY[:8] not in err.value.message
    path.chmod(0o600)
    assert load_key()[0] == bytes.fromhex(KEY)


def test_key_file_refusal_on_the_command_line(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "shared.key"
    path.write_text(os.environ["LOYALCODE_KEY"] + "\n")
    path.chmod(0o644)
    monkeypatch.delenv("LOYALCODE_KEY")
    monkeypatch.setenv("LOYALCODE_KEY_FILE", str(path))
    r = cli("check", "0000-0000-0000-0000", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "key_file_permissions"
    assert r.stderr.splitlines() == [r.stderr.strip()] and f"chmod 600 {path}" in r.stderr
