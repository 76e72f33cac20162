"""The package layers of DESIGN.md hold: import-linter's contracts in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _lint(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command as c; c()",
         "--config", str(config), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
    )


def test_layers_and_faces_contracts_are_kept() -> None:
    proc = _lint(ROOT / "pyproject.toml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 2 kept, 0 broken." in proc.stdout


def test_a_reversed_layer_is_reported(tmp_path: Path) -> None:
    """The contract is not vacuous: swap two layers and the real imports break it."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    swapped = text.replace('    "loyalcode.store",\n    "loyalcode.errors",\n',
                           '    "loyalcode.errors",\n    "loyalcode.store",\n')
    assert swapped != text
    config = tmp_path / "pyproject.toml"
    config.write_text(swapped, encoding="utf-8")
    proc = _lint(config)
    assert proc.returncode == 1
    assert "loyalcode.store is not allowed to import loyalcode.errors" in proc.stdout
