"""Commands that leave codes or cannot be undone: the payload domain is set before
codes leave, a batch's payload changes until its first export or print, void asks."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from loyalcode.errors import ConfigError
from loyalcode.store.config import payload_template_for, write_payload_template
from tests.conftest import BRAND, Cli

PLACEHOLDER = "HTTPS://LC.EXAMPLE.COM/C/{code}"


def _create(cli: Cli, *extra: str) -> dict:
    r = cli("batch", "create", "--sku", "S", "--quantity", "20", "--points", "1", *extra, "--json")
    assert r.exit_code == 0, r.stderr
    return r.json()


def test_placeholder_warns_at_creation_and_blocks_export_and_print(cli: Cli, tmp_path: Path) -> None:
    r = cli("batch", "create", "--sku", "S", "--quantity", "20", "--points", "1")
    assert r.exit_code == 0
    assert "warning: batch 1's QR payload is the placeholder HTTPS://LC.EXAMPLE.COM/C/{code}" in r.stderr
    for args in (["export", "1"], ["export", "1", "--format", "txt"],
                 ["print", "1", "--template", "a4-3x8", "--out", str(tmp_path / "x.pdf")]):
        r = cli(*args, "--json")
        assert r.exit_code == 1 and r.json()["error"]["code"] == "example_domain", args
        assert r.stderr.startswith("error [example_domain]: Batch 1 still has the placeholder")
        assert "--allow-example-domain" in r.stderr
    assert not (tmp_path / "x.pdf").exists()
    # refused exports recorded no issue: the payload can still change
    assert cli("batch", "show", "1", "--json").json()["issued_at"] is None
    r = cli("export", "1", "--to", "2", "--allow-example-domain")
    assert r.exit_code == 0 and ",HTTPS://LC.EXAMPLE.COM/C/" in r.stdout
    # a template of one's own is no placeholder, even on example.com
    own = _create(cli, "--payload", "https://id.example.com/01/{code}")
    r = cli("batch", "create", "--sku", "S", "--quantity", "2", "--points", "1", "--payload", BRAND)
    assert "warning" not in r.stderr
    assert cli("export", str(own["id"]), "--format", "txt").exit_code == 0


def test_batch_update_payload_until_first_issue(cli: Cli, tmp_path: Path) -> None:
    b = _create(cli)["id"]
    r = cli("batch", "update", str(b), "--payload", BRAND, "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["payload_template"] == BRAND and r.json()["issued_at"] is None
    r = cli("batch", "update", str(b), "--payload", "no-code-here", "--json")
    assert r.json()["error"]["code"] == "invalid_payload_template"
    r = cli("export", str(b), "--format", "txt", "--to", "1")
    assert r.exit_code == 0 and r.stdout.startswith("HTTPS://QR.BRAND.CN/C/")
    issued = cli("batch", "show", str(b), "--json").json()["issued_at"]
    assert issued is not None
    r = cli("batch", "update", str(b), "--payload", "HTTPS://OTHER.CN/C/{code}", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "batch_already_issued"
    assert cli("batch", "show", str(b), "--json").json()["payload_template"] == BRAND
    # printing records it too; the moment is the first one
    p = _create(cli, "--payload", BRAND)["id"]
    r = cli("print", str(p), "--template", "a4-3x8", "--to", "3", "--out", str(tmp_path / "p.pdf"))
    assert r.exit_code == 0, r.stderr
    assert cli("batch", "update", str(p), "--payload", BRAND).exit_code == 1
    cli("export", str(b), "--to", "1")
    assert cli("batch", "show", str(b), "--json").json()["issued_at"] == issued
    r = cli("batch", "update", "99", "--payload", BRAND, "--json")
    assert r.json()["error"]["code"] == "batch_not_found"


def test_void_asks_unless_yes(cli: Cli) -> None:
    b = _create(cli, "--payload", BRAND)["id"]
    for answer in ("n\n", "\n", ""):
        r = cli("batch", "void", str(b), "--json", stdin=answer)
        assert r.exit_code == 1 and r.json()["error"]["code"] == "not_confirmed", answer
        assert f"Void batch {b} (20 codes of S)?" in r.stderr
        assert cli("batch", "show", str(b), "--json").json()["status"] == "created"
    r = cli("batch", "void", str(b), "--json", stdin="y\n")
    assert r.exit_code == 0 and r.json()["status"] == "void"
    other = _create(cli, "--payload", BRAND)["id"]
    r = cli("batch", "void", str(other), "--yes", "--json", stdin="")
    assert r.exit_code == 0 and r.json()["status"] == "void"
    assert cli("batch", "void", str(other), "--json").exit_code == 0  # already void: nothing to ask


def test_init_base_url_writes_the_payload_setting(tmp_path: Path, key_env: str) -> None:
    url = f"sqlite:///{tmp_path / 'loyalcode.db'}"
    cli = Cli(url)
    r = cli("init", "--base-url", "ftp://qr.brand.cn", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "invalid_config"
    assert not (tmp_path / "loyalcode.db").exists()  # refused before anything is made
    r = cli("init", "--base-url", "https://qr.brand.cn/", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["payload_template"] == BRAND
    config = tmp_path / "loyalcode.toml"
    assert tomllib.loads(config.read_text())["codes"]["payload_template"] == BRAND
    assert cli("init", "--base-url", "https://QR.brand.cn").exit_code == 0  # the same: fine
    r = cli("init", "--base-url", "https://other.cn", "--json")
    assert r.json()["error"]["code"] == "invalid_config" and "change it there" in r.stderr
    created = _create(cli)
    assert created["payload_template"] == BRAND
    r = cli("export", str(created["id"]), "--format", "txt", "--to", "1")
    assert r.exit_code == 0 and r.stdout.startswith("HTTPS://QR.BRAND.CN/C/")


@pytest.mark.parametrize(("base", "template"), [
    ("https://qr.brand.cn", "HTTPS://QR.BRAND.CN/C/{code}"),
    ("HTTP://Qr.Brand.cn:8443/Loyalty/", "HTTP://QR.BRAND.CN:8443/Loyalty/C/{code}"),
])
def test_payload_template_for(base: str, template: str) -> None:
    assert payload_template_for(base) == template


@pytest.mark.parametrize("base", ["qr.brand.cn", "https://", "https://x.cn/?a=1", "https://x.cn/#f",
                                  "https://u:p@x.cn", "https://x.cn/{code}", "https://例子.cn",
                                  "https://x.cn:99999", "mailto:a@b.cn"])
def test_payload_template_for_refuses(base: str) -> None:
    with pytest.raises(ConfigError):
        payload_template_for(base)


def test_write_payload_template_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "loyalcode.toml"
    path.write_text("# ours\n[loyalty]\nprofile_bonus = 5\n\n[codes]\n# a note\n", encoding="utf-8")
    assert write_payload_template(path, BRAND) is True
    data = tomllib.loads(path.read_text())
    assert data == {"loyalty": {"profile_bonus": 5}, "codes": {"payload_template": BRAND}}
    assert "# ours" in path.read_text() and "# a note" in path.read_text()
    assert write_payload_template(path, BRAND) is False
    other = tmp_path / "other.toml"
    other.write_text("[loyalty]\nprofile_bonus = 5", encoding="utf-8")
    write_payload_template(other, BRAND)
    assert tomllib.loads(other.read_text())["codes"]["payload_template"] == BRAND
