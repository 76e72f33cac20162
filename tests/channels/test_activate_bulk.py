"""Bulk activation: a warehouse's export of shipped ranges, one command, all or nothing;
and visible serials (明码) as ``--from``/``--to`` of the single-range form."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from loyalcode.channels.activation import RangeLine, activation_history, parse_ranges
from loyalcode.codegen.batches import void_batch
from loyalcode.codegen.errors import RangeOutsideBatch
from loyalcode.codegen.models import Batch
from loyalcode.codegen.visible import for_salt, parse_position
from loyalcode.errors import InvalidInput
from loyalcode.redemption.errors import NotActivated
from tests.shop import PHONE

# A salt with all-digit visible serials: serial 11131 shows as 64532884.
DIGIT_SALT, DIGIT_SERIAL, DIGIT_TEXT = "test-salt-0", 11131, "64532884"


def visible(shop: Any, seq: int, serial_start: int | None = None) -> str:
    """The visible serial printed on the package of ``seq`` (of the shop's batch)."""
    return for_salt(shop.ctx.visible_salt()).encode((serial_start or shop.serial_start) + seq - 1)


def history(shop: Any, batch: int | None = None) -> list[tuple[int, int, str]]:
    with shop.ctx.session() as s:
        return [(a.seq_from, a.seq_to, a.channel) for a in activation_history(s, batch or shop.batch)]


def channel_of(shop: Any, redeemer: Any, seq: int) -> str | None:
    """The channel a code redeems for (``None``: not activated)."""
    try:
        return redeemer.redeem(shop.code(seq), phone=PHONE).channel  # type: ignore[no-any-return]
    except NotActivated:
        return None


def write(tmp_path: Any, body: str) -> str:
    path = tmp_path / "shipped.csv"
    path.write_text(body, encoding="utf-8")
    return str(path)


# --- the file form, through the command line ---------------------------------------


def test_file_mixes_numbers_serials_comments_header_channels(cli, shop, redeemer, tmp_path) -> None:
    body = (
        "from,to,channel\n"
        "# WMS outbound 2026-12-01, dock 3\n"
        "\n"
        "601,700,GZ-WHOLE\n"
        f"{visible(shop, 701)}\t{visible(shop, 750).lower()}\tSH-SHOP\n"
        "751   800\n"                      # the --channel default
        f"650 , {visible(shop, 720)} , GD-DIST\n"  # overlaps lines 4 and 5: it wins
        "   # an indented comment\n"
        "801,810,\n"                       # an empty CHANNEL: the default too
    )
    before = history(shop)
    r = cli("activate", str(shop.batch), "--ranges", write(tmp_path, body), "--channel", "GZ-WHOLE",
            "--json")
    assert r.exit_code == 0, r.stderr
    body_json = r.json()
    assert body_json | {"activations": None} == {
        "batch": shop.batch, "ranges": 5, "codes": 100 + 50 + 50 + 71 + 10,
        "channels": {"GZ-WHOLE": 160, "SH-SHOP": 50, "GD-DIST": 71}, "activations": None,
        "replaces": [], "dry_run": False,  # 1..500 were GD-DIST's: none replaced
    }
    after = history(shop)
    assert after[: len(before)] == before
    assert after[len(before):] == [(601, 700, "GZ-WHOLE"), (701, 750, "SH-SHOP"),
                                   (751, 800, "GZ-WHOLE"), (650, 720, "GD-DIST"),
                                   (801, 810, "GZ-WHOLE")]
    with shop.ctx.session() as s:
        ids = [a.id for a in activation_history(s, shop.batch)[len(before):]]
    assert body_json["activations"] == ids
    expected = {600: None, 601: "GZ-WHOLE", 649: "GZ-WHOLE", 650: "GD-DIST", 720: "GD-DIST",
                721: "SH-SHOP", 750: "SH-SHOP", 751: "GZ-WHOLE", 810: "GZ-WHOLE", 811: None}
    assert {seq: channel_of(shop, redeemer, seq) for seq in expected} == expected


def test_stdin_and_the_human_line(cli, shop, redeemer) -> None:
    r = cli("activate", str(shop.batch), "--ranges", "-", "--channel", "SH-SHOP",
            stdin="\ufeff901 950\r\n951\t1000\tGZ-WHOLE\r\n")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == f"Batch {shop.batch}: 2 ranges, 100 codes activated (SH-SHOP 50, GZ-WHOLE 50).\n"
    assert history(shop)[-2:] == [(901, 950, "SH-SHOP"), (951, 1000, "GZ-WHOLE")]
    assert (channel_of(shop, redeemer, 950), channel_of(shop, redeemer, 951)) == ("SH-SHOP", "GZ-WHOLE")


def test_progress_on_stderr_silent_under_quiet(cli, shop) -> None:
    r = cli("activate", str(shop.batch), "--ranges", "-", "--channel", "SH-SHOP", stdin="901,950\n")
    assert r.exit_code == 0 and "activate batch" in r.stderr
    r = cli("--quiet", "activate", str(shop.batch), "--ranges", "-", "--channel", "SH-SHOP",
            stdin="951,960\n")
    assert r.exit_code == 0 and r.stderr == ""


BAD_FILES = [
    # (file, line, code, words of the message)
    ("601,700,GD-DIST\n701,710,NOPE\n", 2, "channel_not_found", "Channel 'NOPE' not found"),
    ("601,700,GD-DIST\n720,710,GD-DIST\n", 2, "range_outside_batch", "FROM (sequence number 720) is after TO (710)"),
    ("601,700,GD-DIST\n900,1001,GD-DIST\n", 2, "range_outside_batch", "outside batch"),
    ("601,700,GD-DIST\n0,10,GD-DIST\n", 2, "range_outside_batch", "outside batch"),
    # "I" is outside the visible alphabet: never a visible serial, whatever the salt (an
    # all-"Z" text decodes under some deployments' salts)
    ("601,700,GD-DIST\n701,ZZZZZZZI,GD-DIST\n", 2, "invalid_input", "TO is neither a sequence number nor a visible serial"),
    ("601,700,GD-DIST\n7O1,710,GD-DIST\n", 2, "invalid_input", "FROM is neither"),
    ("601,700,GD-DIST\n\uff17\uff10\uff11,710,GD-DIST\n", 2, "invalid_input", "FROM is neither"),  # full width
    ("601,700,GD-DIST\n701,7\u00b20,GD-DIST\n", 2, "invalid_input", "TO is neither"),  # isdigit(), not isdecimal()
    ("601,700,GD-DIST\n-5,10,GD-DIST\n", 2, "invalid_input", "FROM is neither"),
    ("601,700,GD-DIST\n701,,GD-DIST\n", 2, "invalid_input", "TO is empty"),
    ("601,700,GD-DIST\n701 710 GD-DIST extra\n", 2, "invalid_input", "expected FROM,TO[,CHANNEL] (2 or 3 fields), found 4."),
    ("601,700,GD-DIST\n701\n", 2, "invalid_input", "(2 or 3 fields), found 1."),
    ("601,700,GD-DIST\n701,710\n", 2, "invalid_input", "has no default channel"),
    ("# export\n\n601,700,GD-DIST\nfrom,to,channel\n", 4, "invalid_input", "FROM is neither"),
    ("601,700,GD-DIST\n" + "701,710,GD-DIST\n" * 50 + "99999999999999999999999,1,GD-DIST\n", 52,
     "range_outside_batch", "outside batch"),
]


@pytest.mark.parametrize(("body", "line", "code", "words"), BAD_FILES)
def test_a_bad_line_activates_nothing(cli, shop, redeemer, body, line, code, words) -> None:
    before = history(shop)
    spans = shop.count("activation_spans")
    r = cli("activate", str(shop.batch), "--ranges", "-", stdin=body)
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr.startswith(f"error [{code}]: Line {line}: ") and words in r.stderr, r.stderr
    assert len(r.stderr.splitlines()) == 1
    r = cli("activate", str(shop.batch), "--ranges", "-", "--json", stdin=body)
    assert r.exit_code == 1
    error = r.json()["error"]
    assert (error["code"], error["line"]) == (code, line)
    assert error["message"].startswith(f"Line {line}: ")
    assert history(shop) == before and shop.count("activation_spans") == spans
    assert channel_of(shop, redeemer, 601) is None  # the first line's codes: not activated


def test_a_visible_serial_of_another_batch_is_refused(cli, shop, redeemer) -> None:
    other, other_start = shop.batch_with(quantity=100, activate=False)
    foreign = visible(shop, 5, other_start)
    before = history(shop)
    r = cli("activate", str(shop.batch), "--ranges", "-", "--channel", "GD-DIST", "--json",
            stdin=f"601,700\n{foreign},{visible(shop, 710)}\n")
    assert r.exit_code == 1
    error = r.json()["error"]
    assert (error["code"], error["line"]) == ("range_outside_batch", 2)
    assert f"FROM {foreign} is the visible serial of serial {other_start + 4}" in error["message"]
    assert f"not in batch {shop.batch}" in error["message"]
    assert history(shop) == before and history(shop, other) == []
    assert channel_of(shop, redeemer, 601) is None
    # the single-range form refuses it the same way
    r = cli("activate", str(shop.batch), "--channel", "GD-DIST", "--from", foreign, "--to", "end",
            "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "range_outside_batch"


def test_ranges_with_from_or_to_is_refused(cli, shop) -> None:
    for extra in (("--from", "601"), ("--to", "700"), ("--from", "601", "--to", "700")):
        r = cli("activate", str(shop.batch), "--ranges", "-", *extra, "--json", stdin="601,700,GD-DIST\n")
        assert r.exit_code == 1 and r.json()["error"]["code"] == "invalid_input"
        assert "--ranges" in r.json()["error"]["message"] and len(r.stderr.splitlines()) == 1
    assert len(history(shop)) == 1


def test_void_batch_unknown_batch_empty_file_missing_file(cli, shop, tmp_path) -> None:
    with shop.ctx.session() as s, s.begin():
        void_batch(s, shop.batch)
    r = cli("activate", str(shop.batch), "--ranges", "-", "--json", stdin="601,700,GD-DIST\n")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "batch_void"
    r = cli("activate", "999", "--ranges", "-", "--json", stdin="601,700,GD-DIST\n")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "batch_not_found"
    r = cli("activate", str(shop.batch), "--ranges", "-", "--json", stdin="from,to\n# none\n")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "batch_void"
    r = cli("activate", str(shop.batch), "--ranges", str(tmp_path / "missing.csv"), "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "invalid_input"
    assert "Cannot read" in r.stderr and len(r.stderr.splitlines()) == 1
    assert len(history(shop)) == 1


def test_an_empty_file_is_refused(cli, shop) -> None:
    r = cli("activate", str(shop.batch), "--ranges", "-", "--json", stdin="from,to,channel\n\n# no\n")
    assert r.exit_code == 1
    assert r.json()["error"] == {"code": "invalid_input", "message":
                                 "No ranges to activate: every line is blank, a comment or the header."}


def test_two_thousand_lines_in_one_command(cli, shop, redeemer) -> None:
    batch, start = shop.batch_with(quantity=20_000, activate=False)
    channels = ("GD-DIST", "GZ-WHOLE", "SH-SHOP")
    lines = []
    for k in range(2000):
        first, last = 10 * k + 1, 10 * k + 10
        if k % 7 == 0:  # some cartons by the serials printed on their packages
            lines.append(f"{visible(shop, first, start)},{visible(shop, last, start)},{channels[k % 3]}")
        else:
            lines.append(f"{first},{last},{channels[k % 3]}")
    r = cli("--quiet", "activate", str(batch), "--ranges", "-", "--json", stdin="\n".join(lines) + "\n")
    assert r.exit_code == 0, r.stderr
    summary = r.json()
    assert (summary["ranges"], summary["codes"], len(summary["activations"])) == (2000, 20_000, 2000)
    assert summary["channels"] == {"GD-DIST": 6670, "GZ-WHOLE": 6670, "SH-SHOP": 6660}
    shipped = history(shop, batch)
    assert shipped == [(10 * k + 1, 10 * k + 10, channels[k % 3]) for k in range(2000)]
    with shop.ctx.engine.connect() as conn:
        spans = conn.execute(text("SELECT count(*) FROM activation_spans WHERE batch_id = :b"),
                             {"b": batch}).scalar_one()
        conn.rollback()
    assert spans == 2000
    for seq in (1, 10, 11, 9_990, 19_991, 20_000):
        code = shop.code(seq, start)
        assert redeemer.redeem(code, phone=PHONE).channel == channels[(seq - 1) // 10 % 3]


# --- the single-range form ------------------------------------------------------------


def test_from_and_to_take_visible_serials(cli, shop, redeemer) -> None:
    r = cli("activate", str(shop.batch), "--channel", "SH-SHOP", "--from", visible(shop, 601),
            "--to", visible(shop, 610), "--json")
    assert r.exit_code == 0, r.stderr
    assert (r.json()["from"], r.json()["to"], r.json()["quantity"]) == (601, 610, 10)
    r = cli("activate", str(shop.batch), "--channel", "GZ-WHOLE", "--from", "611",
            "--to", f" {visible(shop, 620).lower()} ")
    assert r.exit_code == 0 and "codes 611..620 (10) activated for channel GZ-WHOLE" in r.stdout
    assert (channel_of(shop, redeemer, 610), channel_of(shop, redeemer, 611)) == ("SH-SHOP", "GZ-WHOLE")
    r = cli("activate", str(shop.batch), "--channel", "SH-SHOP", "--from", "x7", "--to", "9", "--json")
    assert r.exit_code == 1 and r.json()["error"] == {
        "code": "invalid_input",
        "message": "--from is neither a sequence number nor a visible serial of this deployment.",
    }
    r = cli("activate", str(shop.batch), "--channel", "SH-SHOP", "--from", "700", "--to", "650", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "range_outside_batch"
    assert len(history(shop)) == 3


# --- the library: positions and lines, no database -----------------------------------


def _batch(serial_start: int, quantity: int) -> Batch:
    return Batch(id=7, serial_start=serial_start, serial_end=serial_start + quantity, quantity=quantity)


def test_an_all_digit_visible_serial_is_read_where_it_is_not_ambiguous() -> None:
    serials = for_salt(DIGIT_SALT)
    assert serials.encode(DIGIT_SERIAL) == DIGIT_TEXT
    # a small batch holding the serial: 64532884 is no sequence number of it
    assert parse_position(DIGIT_TEXT, _batch(11_000, 1000), serials) == DIGIT_SERIAL - 11_000 + 1
    # a batch that holds neither reading
    with pytest.raises(RangeOutsideBatch, match="is the visible serial of serial 11131"):
        parse_position(DIGIT_TEXT, _batch(20_000, 1000), serials)
    # a large batch: both readings land inside it
    huge = _batch(1, 100_000_000)
    with pytest.raises(InvalidInput, match="is both sequence number 64532884 and the visible serial"):
        parse_position(DIGIT_TEXT, huge, serials, name="FROM")
    assert parse_position("0" + DIGIT_TEXT, huge, serials) == 64_532_884
    # a number that is no visible serial stays a number, even out of range
    assert parse_position("1234", _batch(11_000, 1000), serials) == 1234


def test_parse_ranges_separators_header_and_line_numbers() -> None:
    serials = for_salt(DIGIT_SALT)
    batch = _batch(11_000, 1000)
    lines = ["\ufeffFROM\tTO\tChannel", "1 , 2", "3\t4\tA", "5    6   B", "7,8,", "", "# x",
             f"{DIGIT_TEXT},{serials.encode(11_200)}"]
    assert parse_ranges(lines, batch, serials) == [
        RangeLine(2, 1, 2), RangeLine(3, 3, 4, "A"), RangeLine(4, 5, 6, "B"), RangeLine(5, 7, 8),
        RangeLine(8, 132, 201),
    ]
    assert parse_ranges(["from,to", "1,1"], batch, serials) == [RangeLine(2, 1, 1)]
    with pytest.raises(InvalidInput) as caught:
        parse_ranges(["1,2", "from,to"], batch, serials)
    assert (caught.value.code, caught.value.facts["line"]) == ("invalid_input", 2)
    assert caught.value.message == (
        "Line 2: FROM is neither a sequence number nor a visible serial of this deployment."
    )
