"""README "Run the service": the shell example runs as written (on a free port)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.readme import readme_section

SECTION = "Run the service"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(shutil.which("curl") is None, reason="the example uses curl")
def test_run_the_service_example_creates_a_key_and_redeems(tmp_path: Path) -> None:
    script = re.findall(r"```sh\n(.*?)```", readme_section(SECTION), flags=re.DOTALL)[0]
    assert "apikey create" in script and "/v1/redemptions" in script
    port = str(_free_port())
    script = script.replace(":8000/", f":{port}/").replace("--port 8000", f"--port {port}")
    script += "\nwait $SERVER || true\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALCODE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "points" in answer, proc.stdout + proc.stderr
    assert (answer["points"], answer["balance"], answer["channel"], answer["sku"]) == (
        10, 10, "GD-01", "SERUM-50")
    assert (tmp_path / "loyalcode.key").stat().st_mode & 0o777 == 0o600
