"""Write the server's OpenAPI schema to `frontend/openapi.json`, from which the UI's types are generated.

No server is started: the app is built in memory (`create_app(..., serve_ui=False)`) on a throwaway
data directory, with none of the caller's `TOKENOPTIMIZER_*` settings, so the output depends on
the code only. `make openapi` runs this and then `npm run gen:api` (frontend/src/api/schema.d.ts);
tests/server/test_openapi_snapshot.py fails while the committed file differs from the routes.

    .venv/bin/python scripts/export_openapi.py           # write frontend/openapi.json
    .venv/bin/python scripts/export_openapi.py --check   # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "frontend" / "openapi.json"


def build_schema() -> dict[str, Any]:
    """The OpenAPI document of an app built with default settings."""
    from tokenoptimizer.server.app import create_app
    from tokenoptimizer.server.settings import Settings

    # Settings read TOKENOPTIMIZER_* variables: hide the caller's so the schema never depends on them.
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("TOKENOPTIMIZER_")}
    try:
        with tempfile.TemporaryDirectory(prefix="tko-openapi-") as tmp:
            settings = Settings(data_dir=Path(tmp), secret_key="openapi-export-" + "x" * 40)
            app = create_app(settings, serve_ui=False)
            try:
                return app.openapi()
            finally:
                app.state.context.close()
    finally:
        os.environ.update(saved)


def render(schema: dict[str, Any]) -> str:
    """The document as committed: indented, keys in the app's order, one newline at the end."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    """Write the schema, or with `--check` only say whether the committed one is current."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when the file is stale")
    parser.add_argument(
        "--output", type=Path, default=SCHEMA_PATH, help="where to write (default: %(default)s)"
    )
    args = parser.parse_args()
    text = render(build_schema())
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if args.check:
        if current != text:
            print(f"{args.output} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
