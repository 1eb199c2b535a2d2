"""Hatch build hook: build the web dashboard into the package before the wheel or sdist is made.

The dashboard (frontend/) is built by Vite into src/tokenoptimizer/server/static/, which git ignores;
the `artifacts` setting of pyproject.toml puts it in the wheel and sdist. When static/index.html is
missing this hook runs `npm ci && npm run build` in frontend/. Without npm (or without frontend/, as
when a wheel is built from an sdist that already holds the built UI) it prints a warning and the
package is built without the dashboard: the server then runs its API only.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

UI_INDEX = Path("src", "tokenoptimizer", "server", "static", "index.html")


class DashboardBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Runs the frontend build when the built dashboard is missing."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Called by hatchling before each target is built."""
        root = Path(self.root)
        # An editable install (`make setup`) serves static/ from the source tree, which `make ui` builds.
        if version == "editable" or (root / UI_INDEX).is_file():
            return
        frontend = root / "frontend"
        npm = shutil.which("npm")
        if not (frontend / "package.json").is_file() or npm is None:
            why = "npm was not found" if npm is None else f"{frontend} is missing"
            self._warn(
                f"{why}: building {self.target_name} WITHOUT the web dashboard "
                f"({UI_INDEX} is missing). Install Node.js 20.19+ and npm, or run `make ui`, then rebuild."
            )
            return
        self.app.display_info(f"Building the web dashboard ({UI_INDEX} is missing): npm ci && npm run build")
        for command in ([npm, "ci", "--no-audit", "--no-fund"], [npm, "run", "build"]):
            done = subprocess.run(command, cwd=frontend, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"`{' '.join(command[1:])}` failed in {frontend} (exit {done.returncode})")
        if not (root / UI_INDEX).is_file():
            raise RuntimeError(f"the frontend build did not write {UI_INDEX}")

    def _warn(self, message: str) -> None:
        self.app.display_warning(f"WARNING: {message}")
