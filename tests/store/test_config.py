"""The settings file: a file that cannot be read as TOML is one typed refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from loyalcode.errors import ConfigError
from loyalcode.store.config import load_config
from tests.codegen.test_cli_errors import assert_refused
from tests.conftest import Cli


def test_config_naming_a_directory(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conf.d").mkdir()
    monkeypatch.setenv("LOYALCODE_CONFIG", str(tmp_path / "conf.d"))
    r = cli("batch", "list", "--json")
    assert_refused(r, "invalid_config")
    assert "is a directory" in r.stderr


def test_config_that_is_not_utf8(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "loyalcode.toml"
    path.write_bytes(b'[codes]\npayload_template = "\xff\xfe"\n')
    monkeypatch.setenv("LOYALCODE_CONFIG", str(path))
    r = cli("batch", "list", "--json")
    assert_refused(r, "invalid_config")
    assert "not UTF-8" in r.stderr


def test_unreadable_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "loyalcode.toml"
    path.symlink_to(path)  # a loop: reading it fails with an OS error
    monkeypatch.setenv("LOYALCODE_CONFIG", str(path))
    with pytest.raises(ConfigError) as err:
        load_config("sqlite:///x.db")
    assert err.value.code == "invalid_config" and "cannot read" in err.value.message
