"""README "The consumer pages": the shell example runs as written (on a free port)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.readme import readme_section
from tests.service.test_readme import _free_port

SECTION = "The consumer pages (what a label opens)"


@pytest.mark.skipif(shutil.which("curl") is None, reason="the example uses curl")
def test_the_pages_example_shows_the_verdict(tmp_path: Path) -> None:
    section = readme_section(SECTION)
    script = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)[0]
    port = str(_free_port())
    script = script.replace(":8000/", f":{port}/").replace("--port 8000", f"--port {port}")
    script += "\nwait $SERVER || true\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALCODE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout.strip().splitlines()[-1]
    assert printed == '<h1 id="verdict-title">正品</h1>'
    assert f"prints `{printed}`" in section
    for image in re.findall(r"\]\((docs/pages/[\w-]+\.png)\)", section):
        assert (Path(__file__).parents[2] / image).is_file(), image
