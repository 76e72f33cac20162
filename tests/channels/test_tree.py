"""Channels: the distribution tree; a batch's --channel must name one."""

from __future__ import annotations

from tests.conftest import Cli


def test_add_list_and_tree(cli: Cli) -> None:
    r = cli("channel", "add", "GD-DIST", "--name", "广东总代", "--kind", "distributor", "--region", "440000", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json() == {"code": "GD-DIST", "name": "广东总代", "kind": "distributor", "region": "44", "parent": None}
    r = cli("channel", "add", "GZ-W1", "--name", "Guangzhou wholesale", "--kind", "wholesaler",
            "--region", "4401", "--parent", "GD-DIST", "--json")
    assert r.exit_code == 0 and r.json()["parent"] == "GD-DIST" and r.json()["region"] == "4401"
    r = cli("channel", "list", "--json")
    assert [c["code"] for c in r.json()] == ["GD-DIST", "GZ-W1"]
    r = cli("channel", "list")
    assert r.stdout.splitlines()[1].startswith("GZ-W1\twholesaler\t4401\tGD-DIST")


def test_batch_names_a_channel(cli: Cli) -> None:
    cli("channel", "add", "TMALL", "--name", "Tmall shop", "--kind", "ecommerce", "--region", "33")
    r = cli("batch", "create", "--sku", "S", "--quantity", "5", "--points", "1", "--channel", "TMALL", "--json")
    assert r.exit_code == 0 and r.json()["channel"] == "TMALL"
    shown = cli("batch", "show", str(r.json()["id"]), "--json").json()
    assert shown["channel"] == "TMALL"
    assert cli("batch", "list", "--json").json()[0]["channel"] == "TMALL"
