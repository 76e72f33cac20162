"""The README's quick start runs as written (the loyalcode part, on the installed
package: tests/codegen/test_install.py covers a real pip install), and what it writes
is kept out of version control."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.readme import README, readme_section


def test_quick_start_runs_as_written(tmp_path: Path) -> None:
    block = re.search(r"```sh\n(.*?)\n```", readme_section("Quick start (Python 3.11, pip)"), re.DOTALL)
    assert block is not None
    steps = [shlex.split(part) for part in block.group(1).split(" && ")]
    commands = [step[1:] for step in steps if step[0] == ".venv/bin/loyalcode"]
    assert [c[0] for c in commands] == ["init", "batch", "export"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALCODE_")}
    for args in commands:
        r = subprocess.run([sys.executable, "-m", "loyalcode", *args], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300, check=False)
        assert r.returncode == 0, (args, r.stderr)
        assert "warning" not in r.stderr, r.stderr  # the placeholder domain is not in force
    with (tmp_path / "codes.csv").open(encoding="utf-8") as f:
        header, first = f.readline(), f.readline()
        rest = sum(1 for _ in f)
    assert header == "seq,code,payload\n" and first.startswith("1,")
    assert ",HTTPS://QR.BRAND.CN/C/" in first and rest == 1_000_000 - 1
    # every file it made is ignored by git
    repo = README.parent
    made = {p.name for p in tmp_path.iterdir()} - {"loyalcode.db-wal", "loyalcode.db-shm"}
    assert made == {"codes.csv", "loyalcode.db", "loyalcode.key", "loyalcode.toml"}
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "codes.csv", "loyalcode.db", "loyalcode.key"],
        cwd=repo, capture_output=True, text=True, check=False,
    )
    assert ignored.stdout.split() == ["codes.csv", "loyalcode.db", "loyalcode.key"]
