"""The activation commands an operator can trust: both ends named, replaced
activations said, a dry run, the history listed, an undo."""

from __future__ import annotations

from tests.channels.test_activate_bulk import channel_of, history


def test_activate_needs_both_ends_or_an_explicit_end(cli, shop) -> None:
    before = history(shop)
    for args in (("--from", "5"), ("--to", "9"), ()):
        r = cli("activate", str(shop.batch), "--channel", "SH-SHOP", *args, "--json")
        assert r.exit_code == 1, args
        assert r.json()["error"]["code"] == "invalid_input"
        assert "--to end" in r.json()["error"]["message"]
    assert history(shop) == before  # nothing activated (the old code activated 5..1000)
    r = cli("activate", str(shop.batch), "--channel", "SH-SHOP", "--from", "991", "--to", "END",
            "--json")
    assert r.exit_code == 0, r.stderr
    assert (r.json()["from"], r.json()["to"], r.json()["quantity"]) == (991, 1000, 10)


def test_activate_says_what_it_replaces_and_dry_runs(cli, shop, redeemer) -> None:
    first = cli("activation", "list", "--batch", str(shop.batch), "--json").json()[0]["id"]
    before = history(shop)
    r = cli("activate", str(shop.batch), "--channel", "GZ-WHOLE", "--from", "401", "--to", "600",
            "--dry-run", "--json")
    assert r.exit_code == 0, r.stderr
    body = r.json()
    assert body["dry_run"] is True and body["id"] is None
    assert body["replaces"] == [{"activation": first, "channel": "GD-DIST", "codes": 100}]
    assert history(shop) == before and channel_of(shop, redeemer, 450) == "GD-DIST"
    r = cli("activate", str(shop.batch), "--channel", "GZ-WHOLE", "--from", "401", "--to", "600")
    assert r.exit_code == 0, r.stderr
    assert "activated for channel GZ-WHOLE" in r.stdout
    assert f"Replaces activation {first} (channel GD-DIST) for 100 codes." in r.stderr
    assert channel_of(shop, redeemer, 451) == "GZ-WHOLE"


def test_activation_list_and_undo(cli, shop, redeemer) -> None:
    r = cli("activate", str(shop.batch), "--channel", "GZ-WHOLE", "--from", "401", "--to", "600",
            "--json")
    later = r.json()["id"]
    listed = cli("activation", "list", "--json").json()
    assert [(e["kind"], e["channel"], e["from"], e["to"]) for e in listed] == [
        ("activation", "GD-DIST", 1, 500), ("activation", "GZ-WHOLE", 401, 600)]
    first = listed[0]["id"]
    # the first one is covered in part by the later one: refused, the later one named
    r = cli("activation", "undo", str(first), "--json")
    assert r.exit_code == 1
    err = r.json()["error"]
    assert err["code"] == "activation_superseded" and err["later"] == str(later)
    assert f"later activation {later} covers part of them; undo it first." in r.stderr
    # a dry run changes nothing
    r = cli("activation", "undo", str(later), "--dry-run")
    assert r.exit_code == 0 and r.stdout.startswith(f"Dry run: would undo activation {later}")
    assert channel_of(shop, redeemer, 452) == "GZ-WHOLE"
    r = cli("activation", "undo", str(later))
    assert r.exit_code == 0, r.stderr
    assert "100 codes back to channel GD-DIST" in r.stderr and "100 codes not activated." in r.stderr
    assert channel_of(shop, redeemer, 453) == "GD-DIST" and channel_of(shop, redeemer, 550) is None
    text = cli("activation", "list", "--batch", str(shop.batch)).stdout.splitlines()
    undo_id = text[2].split("\t")[0]  # a dry run may have used an id (PostgreSQL sequences)
    assert len(text) == 3 and text[1].endswith(f"undone by {undo_id}")
    assert "undo of" in text[2] and "not activated" not in text[2]
    r = cli("activation", "undo", "77", "--json")
    assert r.json()["error"]["code"] == "activation_not_found"
    r = cli("activation", "list", "--batch", "999", "--json")
    assert r.json()["error"]["code"] == "batch_not_found"


def test_many_replaced_activations_are_summed_up(cli, shop) -> None:
    body = "".join(f"{i * 10 + 1},{i * 10 + 10},GZ-WHOLE\n" for i in range(12))
    assert cli("activate", str(shop.batch), "--ranges", "-", stdin=body).exit_code == 0
    r = cli("activate", str(shop.batch), "--channel", "SH-SHOP", "--from", "1", "--to", "end")
    assert r.exit_code == 0, r.stderr
    said = r.stderr.splitlines()
    # what is left of GD-DIST's 1..500 (activation 1), then 12 cartons of GZ-WHOLE
    assert len(said) == 11 and said[0] == "Replaces activation 1 (channel GD-DIST) for 380 codes."
    assert said[1] == "Replaces activation 2 (channel GZ-WHOLE) for 10 codes."
    assert said[-1] == "... and 3 more activations for 30 codes (--json lists them all)."
    r = cli("activate", str(shop.batch), "--channel", "GD-DIST", "--from", "1", "--to", "end",
            "--dry-run", "--json")
    assert [c["codes"] for c in r.json()["replaces"]] == [1000]
