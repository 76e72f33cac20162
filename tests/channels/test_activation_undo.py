"""Activation history you can undo: deactivations and undos are entries of their own,
an entry and its undo cancel out, the span map (what a scan reads) follows."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalcode.channels.activation import (
    activate,
    activation_history,
    deactivate,
    newest_wins,
    undo,
)
from loyalcode.channels.batches import create_batch
from loyalcode.channels.errors import (
    ActivationNotFound,
    ActivationNotUndoable,
    ActivationSuperseded,
)
from tests.channels.test_activate_bulk import channel_of
from tests.channels.test_activation_spans import CHANNELS, assert_map_matches_history
from tests.shop import TEMPLATE

QUANTITY = 30


def test_undo_restores_what_the_activation_replaced(shop, redeemer) -> None:
    """1..500 GD-DIST (the shop); 401..600 to GZ-WHOLE replaces 100 of them; its undo
    gives 401..500 back to GD-DIST and leaves 501..600 not activated."""
    with shop.ctx.session() as s, s.begin():
        first = activation_history(s, shop.batch)[0].id
        done = activate(s, shop.batch, channel="GZ-WHOLE", seq_from=401, seq_to=600)
    assert [c.to_dict() for c in done.replaces] == [
        {"activation": first, "channel": "GD-DIST", "codes": 100}
    ]
    with shop.ctx.session() as s, s.begin():
        reversed_ = undo(s, done.id)
    assert reversed_.kind == "undo" and reversed_.undoes == done.id and reversed_.channel is None
    assert (reversed_.seq_from, reversed_.seq_to) == (401, 600)
    assert [c.to_dict() for c in reversed_.replaces] == [
        {"activation": done.id, "channel": "GZ-WHOLE", "codes": 200}
    ]
    assert [c.to_dict() for c in reversed_.restores] == [
        {"activation": first, "channel": "GD-DIST", "codes": 100}
    ]
    expected = {400: "GD-DIST", 401: "GD-DIST", 500: "GD-DIST", 501: None, 600: None}
    assert {seq: channel_of(shop, redeemer, seq) for seq in expected} == expected
    with shop.ctx.session() as s:
        history = activation_history(s, shop.batch)
    # append-only: three entries, the undone one marked
    assert [(a.kind, a.channel, a.undone_by) for a in history] == [
        ("activation", "GD-DIST", None), ("activation", "GZ-WHOLE", reversed_.id),
        ("undo", None, None),
    ]
    assert_map_matches_history(shop.ctx, shop.batch)


def test_deactivation_and_its_undo(shop, redeemer) -> None:
    with shop.ctx.session() as s, s.begin():
        back = deactivate(s, shop.batch, seq_from=11, seq_to=20)
    assert back.kind == "deactivation" and back.channel is None
    assert [(c.channel, c.codes) for c in back.replaces] == [("GD-DIST", 10)]
    assert channel_of(shop, redeemer, 15) is None
    assert channel_of(shop, redeemer, 21) == "GD-DIST"
    with shop.ctx.session() as s, s.begin():
        undo(s, back.id)
    assert channel_of(shop, redeemer, 16) == "GD-DIST"
    assert_map_matches_history(shop.ctx, shop.batch)


def test_undo_refuses_while_later_entries_cover_part_of_it(shop) -> None:
    with shop.ctx.session() as s, s.begin():
        first = activation_history(s, shop.batch)[0].id
        later = activate(s, shop.batch, channel="SH-SHOP", seq_from=490, seq_to=510).id
        other = deactivate(s, shop.batch, seq_from=1, seq_to=2).id
    with pytest.raises(ActivationSuperseded) as refused, shop.ctx.session() as s, s.begin():
        undo(s, first)
    assert refused.value.code == "activation_superseded"
    assert refused.value.message == (
        f"Activation {first} is no longer the newest over all its codes: later activations "
        f"{later}, {other} cover part of them; undo them first, newest first."
    )
    # undo the later ones (newest first), then the first one goes
    with shop.ctx.session() as s, s.begin():
        undo(s, other)
        undo(s, later)
        undo(s, first)
    with shop.ctx.session() as s, s.begin(), pytest.raises(ActivationNotUndoable, match="already undone"):
        undo(s, first)
    with shop.ctx.session() as s, s.begin():
        last = activation_history(s, shop.batch)[-1]
        with pytest.raises(ActivationNotUndoable, match="itself an undo"):
            undo(s, last.id)
    for bad in ("999", "x", "-1"):
        with shop.ctx.session() as s, s.begin(), pytest.raises(ActivationNotFound):
            undo(s, bad)
    assert_map_matches_history(shop.ctx, shop.batch)


def test_newest_wins_clips_and_orders() -> None:
    entries = [(1, 0, 10, 7), (2, 5, 8, None), (3, 6, 12, 9)]
    assert newest_wins(entries, 2, 11) == [(2, 5, 1, 7), (5, 6, 2, None), (6, 11, 3, 9)]
    assert newest_wins([], 0, 5) == []


steps = st.lists(
    st.one_of(
        st.tuples(st.just("activate"), st.integers(1, QUANTITY), st.integers(0, QUANTITY),
                  st.sampled_from(CHANNELS)),
        st.tuples(st.just("deactivate"), st.integers(1, QUANTITY), st.integers(0, QUANTITY),
                  st.none()),
        st.tuples(st.just("undo"), st.integers(0, 20), st.none(), st.none()),
    ),
    min_size=1, max_size=10,
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps)
def test_the_map_follows_any_history_of_activations_deactivations_and_undos(shop, plan) -> None:
    """Whatever the mix, the spans equal "the newest effective entry wins", and an undo
    is refused exactly when a later effective entry overlaps the undone one."""
    with shop.ctx.session() as s, s.begin():
        batch = create_batch(s, sku="TEA-250", quantity=QUANTITY, points=5,
                             payload_template=TEMPLATE).id
    entries: list[int] = []
    for op, a, b, channel in plan:
        with shop.ctx.session() as s, s.begin():
            if op == "undo":
                if not entries:
                    continue
                target = entries[a % len(entries)]
                history = {h.id: h for h in activation_history(s, batch)}
                t = history[target]
                later = [h for h in history.values() if h.id > t.id and h.undoes is None
                         and h.undone_by is None and h.serial_start < t.serial_end
                         and h.serial_end > t.serial_start]
                if t.undone_by is not None:
                    with pytest.raises(ActivationNotUndoable):
                        undo(s, target)
                elif later:
                    with pytest.raises(ActivationSuperseded):
                        undo(s, target)
                else:
                    undo(s, target)
                continue
            last = min(QUANTITY, a + b)
            if op == "activate":
                entries.append(activate(s, batch, channel=channel, seq_from=a, seq_to=last).id)
            else:
                entries.append(deactivate(s, batch, seq_from=a, seq_to=last).id)
    assert_map_matches_history(shop.ctx, batch)


