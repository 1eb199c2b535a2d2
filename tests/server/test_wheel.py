"""The wheel ships the built dashboard; without npm or frontend/ it still builds, without the UI.

`python -m build --no-isolation` uses the hatchling of the test environment (dev extra), so no
package index is needed. `make test` builds the UI first (`make ui`), so hatch_build.py finds
static/index.html there and the first test checks that the `artifacts` setting puts it in the wheel;
from a checkout without the built UI the hook would run `npm ci && npm run build` itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = "tokenoptimizer/server/static/"

pytestmark = pytest.mark.slow


def build_wheel(source: Path, outdir: Path, env: dict[str, str] | None = None) -> tuple[Path, str]:
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(outdir), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    wheels = list(outdir.glob("tokenoptimizer-*.whl"))
    assert len(wheels) == 1, (wheels, output)
    return wheels[0], output


def test_wheel_contains_the_built_dashboard(tmp_path: Path) -> None:
    wheel, output = build_wheel(ROOT, tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert f"{STATIC}index.html" in names, output
    assert any(n.startswith(f"{STATIC}assets/") and n.endswith(".js") for n in names), names
    assert "tokenoptimizer/server/ui.py" in names


def test_wheel_without_npm_builds_without_the_dashboard_and_warns(tmp_path: Path) -> None:
    # A source tree with no built UI and no frontend/: the hook cannot build it and must say so.
    source = tmp_path / "src-tree"
    source.mkdir()
    for name in ("pyproject.toml", "hatch_build.py", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("static", "__pycache__", "*.egg-info"),
    )
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # python and build, no npm
    wheel, output = build_wheel(source, tmp_path / "dist", env)
    assert "WITHOUT the web dashboard" in output
    names = zipfile.ZipFile(wheel).namelist()
    assert not any(n.startswith(STATIC) for n in names)
    assert "tokenoptimizer/server/ui.py" in names
