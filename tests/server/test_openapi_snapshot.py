"""The committed OpenAPI schema (`frontend/openapi.json`) matches the routes.

The UI's API types (`frontend/src/api/schema.d.ts`) are generated from that file, so a route or
schema changed without regenerating it would leave the dashboard typed against an old API.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _export_script() -> ModuleType:
    path = ROOT / "scripts" / "export_openapi.py"
    spec = importlib.util.spec_from_file_location("export_openapi", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_frontend_openapi_json_is_up_to_date() -> None:
    script = _export_script()
    committed_path: Path = script.SCHEMA_PATH
    assert committed_path.is_file(), f"{committed_path} is missing: run `make openapi`"
    fresh = script.render(script.build_schema())
    committed = committed_path.read_text(encoding="utf-8")
    if committed != fresh:
        old, new = json.loads(committed), json.loads(fresh)
        added = sorted(set(new.get("paths", {})) - set(old.get("paths", {})))
        removed = sorted(set(old.get("paths", {})) - set(new.get("paths", {})))
        changed = sorted(
            name
            for name, schema in new.get("components", {}).get("schemas", {}).items()
            if old.get("components", {}).get("schemas", {}).get(name) != schema
        )
        raise AssertionError(
            "frontend/openapi.json is stale: run `make openapi` (it also regenerates "
            "frontend/src/api/schema.d.ts) and commit both.\n"
            f"  paths added: {added}\n  paths removed: {removed}\n  schemas changed or added: {changed}"
        )


def test_the_schema_names_the_types_the_ui_relies_on() -> None:
    schema = json.loads((ROOT / "frontend" / "openapi.json").read_text(encoding="utf-8"))
    components = schema["components"]["schemas"]
    for name in ("Summary", "Timeseries", "Breakdown", "EventPage", "BudgetPublic", "AlertPage"):
        assert name in components, name
    for path in ("/api/v1/usage/summary", "/api/v1/usage/timeseries", "/api/v1/events", "/api/v1/budgets"):
        assert path in schema["paths"], path
