"""`init` from another directory with a NON-editable install (a built wheel).

The wheel is built from a copy of the package sources, installed with --no-deps into a
fresh venv that borrows this environment's dependencies through a .pth line (a plain
path line: the editable-install hook of this environment is not run), and
`loyalcode init` runs in an empty directory far from the repository. It proves the
migrations travel inside the package and that nothing reads the repository.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

import loyalcode

REPO = Path(loyalcode.__file__).resolve().parent.parent


def _run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], check=False, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _build_wheel(tmp: Path) -> Path:
    src = tmp / "src"
    shutil.copytree(REPO / "loyalcode", src / "loyalcode",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.db*", "*.key"))
    shutil.copy(REPO / "pyproject.toml", src)
    if (REPO / "README.md").exists():
        shutil.copy(REPO / "README.md", src)
    else:
        (src / "README.md").write_text("loyalcode\n")
    dist = tmp / "dist"
    base = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, src]
    r = _run(*base)  # isolated build (fetches setuptools like `pip install .` does)
    if r.returncode != 0:
        r = _run(*base, "--no-build-isolation")
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = dist.glob("loyalcode-*.whl")
    return wheel


@pytest.mark.slow
def test_init_from_another_directory_with_a_wheel_install(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    venv = tmp_path / "venv"
    r = _run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert r.returncode == 0, r.stderr
    py = venv / "bin" / "python"
    purelib = Path(_run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (purelib / "_borrowed_deps.pth").write_text("\n".join(deps) + "\n")
    r = _run(sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "-q", wheel)
    assert r.returncode == 0, r.stderr[-2000:]

    work = tmp_path / "elsewhere" / "plant-7"
    work.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LOYALCODE_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"

    where = _run(py, "-c", "import loyalcode; print(loyalcode.__file__)", cwd=work, env=env)
    assert where.returncode == 0, where.stderr
    location = Path(where.stdout.strip()).resolve()
    assert location.is_relative_to(purelib.resolve()), location
    assert not location.is_relative_to(REPO)

    r = _run(venv / "bin" / "loyalcode", "init", "--base-url", "https://qr.brand.cn", "--json",
             cwd=work, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("{") and '"key_created": true' in r.stdout
    assert (work / "loyalcode.db").exists() and (work / "loyalcode.key").exists()
    assert oct((work / "loyalcode.key").stat().st_mode & 0o777) == "0o600"
    r = _run(venv / "bin" / "loyalcode", "db", "check", cwd=work, env=env)
    assert r.returncode == 0, r.stderr
    r = _run(venv / "bin" / "loyalcode", "batch", "create", "--sku", "S", "--quantity", "10",
             "--points", "1", cwd=work, env=env)
    assert r.returncode == 0, r.stderr
    r = _run(venv / "bin" / "loyalcode", "export", "1", "--format", "txt", cwd=work, env=env)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 10, r.stderr
    assert r.stdout.startswith("HTTPS://QR.BRAND.CN/C/")  # from the loyalcode.toml init wrote
