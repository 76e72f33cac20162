"""The time policy: instants stored as UTC and read back aware on both databases (one
text format on SQLite), business days in the business zone, and migration 0010, which
corrects what SQLite stored before."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import DateTime, Table, bindparam, select, text

from loyalcode.migrations.metadata import metadata as _all_tables
from loyalcode.store import db
from loyalcode.store.timeutil import SQLITE_STAMP_GLOB, UTC, UtcDateTime, day_start

metadata = _all_tables()
SHANGHAI = ZoneInfo("Asia/Shanghai")
ZONES = [UTC, SHANGHAI, ZoneInfo("Asia/Tokyo"), dt.timezone(dt.timedelta(hours=-5))]


def instant_columns() -> list[tuple[Table, str]]:
    """Every (table, column) of the schema that stores an instant."""
    return [
        (table, column.name)
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, (UtcDateTime, DateTime))
    ]


def test_every_instant_column_is_utc_typed_and_known_to_0010() -> None:
    from importlib import import_module

    migration = import_module("loyalcode.migrations.versions.0010_instants_utc")
    found: dict[str, set[str]] = {}
    for table, column in instant_columns():
        assert isinstance(table.c[column].type, UtcDateTime), f"{table.name}.{column}"
        found.setdefault(table.name, set()).add(column)
    expected = {t: set(c) for t, c in migration.INSTANTS.items()}
    for table, column in LATER_INSTANTS:  # written by UtcDateTime from the start
        expected.setdefault(table, set()).add(column)
    assert found == expected


#: Instant columns made by migrations after 0010 (it had nothing of theirs to correct).
LATER_INSTANTS = {
    ("api_keys", "created_at"), ("api_keys", "revoked_at"),  # 0011
    ("idempotency_records", "created_at"),  # 0011
    ("logistic_units", "created_at"), ("packings", "created_at"),  # 0012
    ("shipments", "opened_at"), ("shipments", "closed_at"), ("shipment_scans", "scanned_at"),
    ("batches", "issued_at"),  # 0009
    ("code_queries", "first_at"), ("code_queries", "last_at"),  # 0014
    ("page_sessions", "consented_at"), ("page_sessions", "created_at"),  # 0015
    ("page_sessions", "expires_at"), ("member_consents", "consented_at"),
    ("phone_challenges", "created_at"), ("phone_challenges", "expires_at"),
    ("phone_challenges", "verified_at"),
}


# --- one row in every table, every instant column bound to one value -------------------

_OVERRIDES: dict[str, dict[str, Any]] = {
    "batches": {"serial_start": 1, "serial_end": 11, "quantity": 10, "status": "created"},
    "channels": {"kind": "distributor", "region": "31"},
    "activations": {"serial_start": 1, "serial_end": 11},
    "activation_spans": {"serial_start": 1, "serial_end": 11},
    "member_identities": {"kind": "openid"},
    "member_profiles": {"gender": "female"},
    "gift_orders": {"status": "placed"},
    "ledger": {"kind": "earn"},
    "logistic_units": {"kind": "case"},
    "packings": {"kind": "pack"},
    "case_contents": {"serial_start": 1, "serial_end": 11},
    "case_moves": {"serial_start": 1, "serial_end": 11},
    "shipments": {"kind": "return", "status": "closed"},
    "shipment_scans": {"serial": 1},
    "shipment_ranges": {"serial_start": 1, "serial_end": 11},
}


def _row(table: Table, when: dt.datetime) -> dict[str, Any]:
    from sqlalchemy import JSON, Boolean, Date, Float

    row: dict[str, Any] = {}
    for column in table.columns:
        kind = column.type
        if isinstance(kind, UtcDateTime):
            row[column.name] = when
        elif column.nullable and not column.primary_key:
            row[column.name] = None
        elif isinstance(kind, Boolean):
            row[column.name] = False
        elif isinstance(kind, Date):
            row[column.name] = dt.date(2026, 1, 1)
        elif isinstance(kind, JSON):
            row[column.name] = {}
        elif isinstance(kind, Float):
            row[column.name] = 1.0
        elif kind.python_type is str:
            row[column.name] = "a"
        else:
            row[column.name] = 1
    row.update(_OVERRIDES.get(table.name, {}))
    return row


def _fill(conn: Any, when: dt.datetime) -> None:
    for table in reversed(metadata.sorted_tables):
        conn.execute(table.delete())
    for table in metadata.sorted_tables:
        conn.execute(table.insert().values(_row(table, when)))


@pytest.fixture
def migrated(db_url: str) -> Any:
    engine = db.make_engine(db_url)
    yield engine
    engine.dispose()


around_midnight = st.builds(
    lambda day, seconds, micro, zone: (
        dt.datetime.combine(day, dt.time(), SHANGHAI) + dt.timedelta(seconds=seconds, microseconds=micro)
    ).astimezone(zone),
    st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31)),
    st.integers(-3 * 3600, 3 * 3600),
    st.integers(0, 999_999),
    st.sampled_from(ZONES),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(when=around_midnight)
def test_instants_round_trip_around_shanghai_midnight(migrated: Any, when: dt.datetime) -> None:
    """Any aware instant, in any zone, written to every instant column of every table,
    reads back as the same instant, aware UTC; SQL compares it with a Shanghai midnight
    as Python does; SQLite holds it in the one text format. The same on both databases
    (the expected answers are computed once, in Python)."""
    midnight = day_start(when.astimezone(SHANGHAI).date(), SHANGHAI)
    with migrated.begin() as conn:
        _fill(conn, when)
        for table, name in instant_columns():
            column = table.c[name]
            got = conn.execute(select(column)).scalar_one()
            assert got == when and got.utcoffset() == dt.timedelta(0) and got.tzinfo is not None
            assert got.isoformat().endswith("+00:00")
            later = conn.execute(select(column).where(column >= midnight)).scalar()
            assert (later is not None) == (when >= midnight), f"{table.name}.{name}"
            if conn.dialect.name == "sqlite":
                raw = conn.execute(text(f"SELECT {name} FROM {table.name}")).scalar_one()
                stored = conn.execute(
                    text(f"SELECT {name} GLOB '{SQLITE_STAMP_GLOB}' FROM {table.name}")
                ).scalar_one()
                assert stored == 1, raw
                assert raw == when.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        conn.rollback()


def test_server_defaults_store_the_one_format(ctx: Any) -> None:
    """Rows made by the ORM (batches, channels, the deployment) get their created_at
    from Python, as UTC in the one format, not from CURRENT_TIMESTAMP."""
    from loyalcode.channels.tree import add_channel
    from loyalcode.codegen.batches import create_batch

    with ctx.session() as s, s.begin():
        add_channel(s, "C1", name="c", kind="retailer", region="31")
        batch = create_batch(s, sku="S", quantity=5, points=1, payload_template="HTTPS://X/C/{code}")
        created = batch.created_at
    assert created is not None and created.utcoffset() == dt.timedelta(0)
    if ctx.engine.dialect.name == "sqlite":
        with ctx.engine.connect() as conn:
            for table in ("deployment", "batches", "channels"):
                ok = conn.execute(
                    text(f"SELECT min(created_at GLOB '{SQLITE_STAMP_GLOB}') FROM {table}")
                ).scalar()
                assert ok == 1, table


# --- gift windows: the day a window ends is a day in the business zone ------------------


def test_gift_that_ended_yesterday_is_refused_at_every_hour(loyal: Any) -> None:
    from loyalcode.loyalty.errors import GiftInactive
    from loyalcode.loyalty.gifts import add_gift, list_gifts, redeem_gift

    today = dt.date(2026, 3, 10)
    at = [dt.datetime.combine(today, dt.time(hour, minute), SHANGHAI)
          for hour in range(24) for minute in (0, 59)]
    member = loyal.member("+8613800138000")
    loyal.complete(member)  # profile bonus: points to spend
    # As `gift add --from 2026-03-01 --until 2026-03-09` passes them: local midnights.
    with loyal.tx() as conn:
        add_gift(conn, sku="ENDED", name="ended", points=1, stock=100, now=at[0],
                 active_from=dt.datetime.combine(dt.date(2026, 3, 1), dt.time(), SHANGHAI),
                 active_until=dt.datetime.combine(today, dt.time(), SHANGHAI))
        add_gift(conn, sku="TODAY", name="today", points=1, stock=100, now=at[0],
                 active_from=dt.datetime.combine(today, dt.time(), SHANGHAI),
                 active_until=dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), SHANGHAI))
    for now in at:
        with pytest.raises(GiftInactive) as err, loyal.tx() as conn:
            redeem_gift(conn, member, "ENDED", loyal.settings, now)
        assert "ended 2026-03-09T16:00:00+00:00" in err.value.message
        with loyal.tx() as conn:
            assert [g.sku for g in list_gifts(conn, available_at=now)] == ["TODAY"]
    with loyal.tx() as conn:
        order = redeem_gift(conn, member, "TODAY", loyal.settings, at[0])
    assert order.points == 1
    before = dt.datetime.combine(today, dt.time(), SHANGHAI) - dt.timedelta(microseconds=1)
    with loyal.tx() as conn:
        assert [g.sku for g in list_gifts(conn, available_at=before)] == ["ENDED"]


# --- migration 0010 on a database made by the previous head ----------------------------


def _previous_head() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db._alembic_config(None))
    down = script.get_revision("0010").down_revision
    assert isinstance(down, str)
    return down


OLD_TS = DateTime(timezone=True)  # what every column and parameter was before 0010


def _write_the_old_way(conn: Any, zone: dt.tzinfo) -> dict[str, dt.datetime]:
    """Rows as the code of the previous head wrote them; the instants they meant."""
    local = {
        "from": dt.datetime.combine(dt.date(2026, 3, 1), dt.time(), zone),
        "until": dt.datetime.combine(dt.date(2026, 3, 10), dt.time(), zone),
    }
    created = dt.datetime(2026, 2, 1, 1, 2, 3, 456789, tzinfo=UTC)
    conn.execute(
        text("INSERT INTO gifts (sku, name, points, stock, active_from, active_until, active, "
             "created_at) VALUES ('G', 'g', 1, 1, :f, :u, true, :c)").bindparams(
            bindparam("f", type_=OLD_TS), bindparam("u", type_=OLD_TS), bindparam("c", type_=OLD_TS)),
        {"f": local["from"], "u": local["until"], "c": created},
    )
    conn.execute(  # the server default: CURRENT_TIMESTAMP on SQLite, no fraction
        text("INSERT INTO channels (code, name, kind, region) VALUES ('C', 'c', 'retailer', '31')")
    )
    conn.execute(
        text("INSERT INTO members (phone, balance, created_at) VALUES ('+8613800138000', 0, :c)")
        .bindparams(bindparam("c", type_=OLD_TS)),
        {"c": created},
    )
    return {"from": local["from"], "until": local["until"], "created": created}


@pytest.mark.parametrize("zone_name", ["Asia/Shanghai", "Asia/Tokyo"])
def test_0010_corrects_what_the_previous_head_stored(
    empty_db_url: str, key_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    zone_name: str,
) -> None:
    config = tmp_path / "zone.toml"
    config.write_text(f'[redemption]\ntimezone = "{zone_name}"\n', encoding="utf-8")
    monkeypatch.setenv("LOYALCODE_CONFIG", str(config))
    zone = ZoneInfo(zone_name)
    engine = db.make_engine(empty_db_url)
    try:
        db.upgrade(engine, _previous_head())
        with engine.begin() as conn:
            meant = _write_the_old_way(conn, zone)
        db.upgrade(engine)
        assert db.current_revision(engine) == db.head_revision()
        gifts = metadata.tables["gifts"]
        with engine.connect() as conn:
            row = conn.execute(select(gifts.c.active_from, gifts.c.active_until, gifts.c.created_at)).one()
            assert tuple(row) == (meant["from"], meant["until"], meant["created"])
            members = metadata.tables["members"]
            assert conn.execute(select(members.c.created_at)).scalar_one() == meant["created"]
            channel_at = conn.execute(select(metadata.tables["channels"].c.created_at)).scalar_one()
            assert channel_at.tzinfo is not None
            assert abs(channel_at - dt.datetime.now(UTC)) < dt.timedelta(minutes=10)
            if engine.dialect.name == "sqlite":
                for table, column in (("gifts", "active_from"), ("gifts", "active_until"),
                                      ("gifts", "created_at"), ("channels", "created_at"),
                                      ("members", "created_at")):
                    ok = conn.execute(
                        text(f"SELECT {column} GLOB '{SQLITE_STAMP_GLOB}' FROM {table}")
                    ).scalar_one()
                    assert ok == 1, (table, column)
        db.upgrade(engine)  # nothing more to do: a second run changes nothing
        with engine.connect() as conn:
            again = conn.execute(select(gifts.c.active_from, gifts.c.active_until)).one()
        assert tuple(again) == (meant["from"], meant["until"])
    finally:
        engine.dispose()


# --- JSON: every instant with its offset, every business date with its zone ----------


def _instants(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string in a JSON document that looks like an instant (date and time)."""
    import re

    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _instants(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _instants(v, f"{path}[{i}]")
    elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d.*", value):
        found.append((path, value))
    return found


def test_json_instants_carry_their_offset(shop: Any, redeemer: Any, db_url: str) -> None:
    from tests.conftest import Cli

    cli = Cli(db_url)
    redeemer.redeem(shop.code(1), phone="13800138000")
    docs = {
        "batch create": cli("batch", "create", "--sku", "S", "--quantity", "5", "--points", "1",
                            "--redeem-until", "2030-01-01", "--json").json(),
        "batch list": cli("batch", "list", "--json").json(),
        "events": cli("events", "list", "--json").json(),
        "member": cli("member", "show", "--phone", "13800138000", "--ledger", "--json").json(),
        "gift": cli("gift", "add", "G", "--name", "g", "--points", "1", "--stock", "1",
                    "--from", "2026-03-01", "--until", "2026-03-09", "--json").json(),
    }
    seen = 0
    for name, doc in docs.items():
        for path, value in _instants(doc):
            seen += 1
            assert dt.datetime.fromisoformat(value).utcoffset() is not None, (name, path, value)
    assert seen >= 6
    assert docs["batch create"]["timezone"] == "Asia/Shanghai"
    assert docs["batch create"]["redeem_until"] == "2030-01-01"
    assert docs["gift"]["active_from"] == "2026-02-28T16:00:00+00:00"
    assert docs["gift"]["active_until"] == "2026-03-09T16:00:00+00:00"
    assert all(b["timezone"] == "Asia/Shanghai" for b in docs["batch list"])
    report = cli("report", "--by", "day", "--json").json()
    assert report["timezone"] == "Asia/Shanghai"
