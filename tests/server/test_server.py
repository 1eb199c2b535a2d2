from pathlib import Path

import httpx
from fastapi import FastAPI

from tokenoptimizer.server.context import AppContext
from tokenoptimizer.server.settings import Settings
from tokenoptimizer.server.ui import mount_ui


async def test_health_reports_both_stores(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["events"] == "ok"
    assert body["version"]


async def test_health_is_503_when_the_event_store_is_gone(client: httpx.AsyncClient, app: FastAPI) -> None:
    app.state.context.store.close()
    response = await client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["events"].startswith("error")


async def test_openapi_documents_the_ingest_body(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    body = schema["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/EventBatchIn"} in body["oneOf"]
    assert "input_tokens" in schema["components"]["schemas"]["EventIn"]["properties"]


async def test_ui_not_built_page_and_client_route_fallback(tmp_path: Path) -> None:
    bare = FastAPI()
    mount_ui(bare, tmp_path / "not-built")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="http://test") as http:
        page = await http.get("/some/client/route")
        assert page.status_code == 200 and "make ui" in page.text
        assert (await http.get("/api/nope")).status_code == 404

    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("<div id=root></div>")
    (static / "assets" / "app.js").write_text("console.log(1)")
    built = FastAPI()
    mount_ui(built, static)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=built), base_url="http://test") as http:
        assert (await http.get("/")).text == "<div id=root></div>"
        assert (await http.get("/logs/abc")).text == "<div id=root></div>"
        assert (await http.get("/assets/app.js")).text == "console.log(1)"
        assert (await http.get("/../../etc/passwd")).text == "<div id=root></div>"


def test_placeholder_secret_is_refused(tmp_path: Path) -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="placeholder"):
        Settings(data_dir=tmp_path, secret_key="changeme")


def test_secret_key_is_generated_once(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).resolved_secret_key
    second = Settings(data_dir=tmp_path).resolved_secret_key
    assert first == second and len(first) > 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


async def test_many_concurrent_requests_do_not_exhaust_connections(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    """More concurrent DB-backed requests than request threads must not deadlock the pool."""
    import asyncio

    from tests.conftest import make_tenant

    tenant = make_tenant(context, "Busy")
    responses = await asyncio.wait_for(
        asyncio.gather(*(client.get("/api/v1/projects", headers=tenant.headers()) for _ in range(120))),
        timeout=60,
    )
    assert {r.status_code for r in responses} == {200}
