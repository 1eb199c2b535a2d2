"""`GET /api/health`: is the metadata database and the event store reachable."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from tokenoptimizer._version import __version__
from tokenoptimizer.server.deps import ContextDep

router = APIRouter(tags=["health"])


@router.get("/api/health")
def health(context: ContextDep) -> JSONResponse:
    """Status of the database and event store, and the server version (503 when one is down)."""
    checks: dict[str, Any] = {}
    try:
        with context.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc}"
    try:
        context.store.ping()
        checks["events"] = "ok"
    except Exception as exc:
        checks["events"] = f"error: {exc}"
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "degraded", "version": __version__, **checks}
    return JSONResponse(body, status_code=200 if healthy else 503)
