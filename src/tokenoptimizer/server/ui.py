"""Serving the built dashboard: static assets, and `index.html` for every client-side route."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>TokenOptimizer</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>TokenOptimizer is running</h1>
<p>The web dashboard is not built in this installation. Build it with <code>make ui</code>
(needs Node.js), or install a released wheel, which contains it.</p>
<p>The API works: see <a href="/docs">/docs</a> and <a href="/api/health">/api/health</a>.</p>
</body></html>"""


def mount_ui(app: FastAPI, static_dir: Path = STATIC_DIR) -> None:
    """Serve the dashboard, or a page explaining how to build it."""
    index = static_dir / "index.html"
    if (static_dir / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=static_dir / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False, response_model=None)
    def spa(path: str) -> FileResponse | HTMLResponse:
        if path.startswith(("api/", "gateway/", "otlp/")):
            raise HTTPException(404, "not found")
        candidate = (static_dir / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(static_dir.resolve()):
            return FileResponse(candidate)
        if index.is_file():
            return FileResponse(index)
        return HTMLResponse(NOT_BUILT)
