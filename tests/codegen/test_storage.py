"""The database never holds a code: no run of 8 consecutive symbols of any code is in
the database after creating, exporting and checking a batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from loyalcode.codegen import codec
from loyalcode.store.config import sqlite_path
from tests.codegen.util import find_windows, table_text, windows
from tests.conftest import Cli


def test_no_run_of_eight_symbols_in_the_database(db_url: str, keyring, tmp_path: Path) -> None:
    cli = Cli(db_url)
    cli("channel", "add", "GD-01", "--name", "Guangdong", "--kind", "distributor", "--region", "44")
    b = cli("batch", "create", "--sku", "S", "--quantity", "20000", "--points", "2",
            "--gtin", "09501101020917", "--channel", "GD-01",
            "--payload", "https://id.example.com/01/{gtin}/21/{serial}?c={code}", "--json").json()
    out = tmp_path / "exports" / "codes.csv"
    out.parent.mkdir()
    assert cli("export", str(b["id"]), "--serial", "--out", str(out)).exit_code == 0
    codes = codec.derive_codes(keyring, np.arange(b["serial_start"], b["serial_end"], dtype=np.uint64))
    assert all(c in out.read_text() for c in codes[:10])  # the export itself does hold them
    assert cli("check", *codes[:200]).exit_code == 0
    wanted = windows(codes)
    wanted |= {w.lower() for w in wanted}
    assert len(wanted) > 300_000
    blobs = {"tables as text": table_text(db_url)}
    path = sqlite_path(db_url)
    if path is not None:
        files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
        assert path in files
        for p in files:  # the database file, -wal, -shm
            blobs[p.name] = p.read_bytes()
    assert blobs["tables as text"] and (path is None or blobs[path.name])
    for name, data in blobs.items():  # a -wal file may be empty after a checkpoint
        assert not find_windows(data, wanted), name
