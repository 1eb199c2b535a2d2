from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tokenoptimizer.cli.main import app as cli
from tokenoptimizer.server.app import create_app
from tokenoptimizer.server.settings import Settings


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TOKENOPTIMIZER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TOKENOPTIMIZER_SECRET_KEY", "cli-test-secret-key-long-enough")
    return CliRunner()


def test_keys_create_prints_the_key_last_and_it_works(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["keys", "create", "--project", "checkout", "--scopes", "ingest,read"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("tko_")

    listed = runner.invoke(cli, ["keys", "list"])
    assert listed.exit_code == 0 and "checkout" in listed.stdout and key not in listed.stdout


async def test_created_key_ingests_and_revoked_key_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    key = (
        runner.invoke(cli, ["keys", "create", "--project", "p1", "--scopes", "ingest"])
        .stdout.strip()
        .splitlines()[-1]
    )
    event = {"provider": "openai", "model": "gpt-4o", "input_tokens": 3, "output_tokens": 4}

    async def post() -> int:
        application = create_app(Settings(data_dir=tmp_path), serve_ui=False)
        try:
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                response = await http.post(
                    "/api/v1/events", json=event, headers={"Authorization": f"Bearer {key}"}
                )
                return response.status_code
        finally:
            application.state.context.close()

    assert await post() == 202
    revoked = runner.invoke(cli, ["keys", "revoke", key[:8]])
    assert revoked.exit_code == 0, revoked.output
    assert await post() == 401


def test_keys_create_needs_org_when_several(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["keys", "create", "--project", "a"]).exit_code == 0
    assert (
        runner.invoke(
            cli, ["users", "create", "--email", "x@y.example", "--password", "longpassword"]
        ).exit_code
        == 0
    )
    from tokenoptimizer.accounts import service
    from tokenoptimizer.db.base import Database

    database = Database(Settings().resolved_database_url)
    with database.session() as session:
        service.create_organization(session, "Second")
    database.dispose()
    result = runner.invoke(cli, ["keys", "create", "--project", "a"])
    assert result.exit_code == 1 and "--org" in result.output
    assert runner.invoke(cli, ["keys", "create", "--project", "a", "--org", "Second"]).exit_code == 0
    unknown = runner.invoke(cli, ["keys", "create", "--project", "a", "--scopes", "write"])
    assert unknown.exit_code == 1


def test_db_downgrade_and_upgrade(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(cli, ["db", "downgrade", "base"]).exit_code == 0
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0


def test_demo_seeds_priced_events_through_the_pipeline(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["demo", "--events", "3000", "--days", "10"])
    assert result.exit_code == 0, result.output
    assert "Stored 3,000 events" in result.output
    assert "demo@tokenoptimizer.local" in result.output

    from tokenoptimizer.usage.stores import open_event_store

    store = open_event_store(f"duckdb:///{tmp_path / 'events.duckdb'}")
    rows = store.fetch("SELECT count(*), sum(cost_usd), count(DISTINCT project_id), min(source) FROM events")
    store.close()
    count, cost, projects, source = rows[0]
    assert count == 3000 and cost > 0 and projects == 3 and source == "demo"


async def test_demo_login_works(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["demo", "--events", "200", "--days", "2"])
    email, password = result.output.strip().splitlines()[-1].split("Demo login: ")[1].split(" / ")
    application = create_app(Settings(data_dir=tmp_path), serve_ui=False)
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
            assert response.status_code == 200, response.text
            page = (await http.get("/api/v1/events", params={"limit": 1000})).json()
            assert len(page["items"]) == 200
    finally:
        application.state.context.close()
