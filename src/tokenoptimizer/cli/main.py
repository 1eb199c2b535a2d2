"""The `tokenoptimizer` command: serve, migrate, manage keys and users, generate demo data.

Every command reads the same `TOKENOPTIMIZER_*` settings as the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from tokenoptimizer._version import __version__
from tokenoptimizer.server.settings import Settings

if TYPE_CHECKING:
    from tokenoptimizer.db.base import Database
    from tokenoptimizer.server.context import AppContext

app = typer.Typer(
    help="TokenOptimizer: know, control and cut what your LLM calls cost.", no_args_is_help=True
)
db_app = typer.Typer(help="Migrate the metadata database.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
users_app = typer.Typer(help="Manage the people who log in.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")

err = Console(stderr=True)
out = Console()


def _settings() -> Settings:
    return Settings()


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (default TOKENOPTIMIZER_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default TOKENOPTIMIZER_PORT).")] = None,
    workers: Annotated[int, typer.Option(help="Server processes (needs ClickHouse events).")] = 1,
    demo: Annotated[bool, typer.Option(help="Seed a demo organisation with usage on first start.")] = False,
    demo_events: Annotated[int, typer.Option(help="How many demo events to seed.")] = 200_000,
) -> None:
    """Migrate the database and run the server."""
    import uvicorn

    from tokenoptimizer.db import migrate
    from tokenoptimizer.server.app import create_app
    from tokenoptimizer.server.context import AppContext
    from tokenoptimizer.usage.stores import EventStoreError

    settings = _settings()
    if workers > 1 and settings.resolved_events_url.startswith("duckdb:"):
        raise _fail(
            "--workers > 1 needs an event store that several processes can write: a DuckDB file has "
            "exactly one writer. Run one worker, or set TOKENOPTIMIZER_EVENTS_URL to ClickHouse."
        )
    migrate.upgrade(settings.resolved_database_url)
    try:
        context = AppContext(settings)
    except EventStoreError as exc:
        raise _fail(str(exc)) from exc
    if demo:
        _seed_demo(context, demo_events)
    application = create_app(settings, context=context)
    bind_host = host or settings.host
    bind_port = port or settings.port
    err.print(f"TokenOptimizer {__version__} on http://{bind_host}:{bind_port}  (API docs: /docs)")
    uvicorn.run(application, host=bind_host, port=bind_port, log_level="info", access_log=False)


def _seed_demo(context: AppContext, events: int) -> None:
    from tokenoptimizer.server.demo import ensure_demo_org, seed_demo_events

    org_id, login = ensure_demo_org(context)
    if login.created:
        with _progress() as progress:
            task = progress.add_task("Seeding demo usage", total=events)
            seed_demo_events(context, org_id, events=events, progress=lambda n: progress.advance(task, n))
    err.print(f"[bold]Demo login:[/bold] {login.email} / {login.password}")


@app.command()
def demo(
    events: Annotated[int, typer.Option(help="How many events to generate.")] = 200_000,
    days: Annotated[int, typer.Option(help="Over how many days, ending now.")] = 90,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 0,
) -> None:
    """Generate realistic demo usage into the demo organisation (created when missing)."""
    from tokenoptimizer.db import migrate
    from tokenoptimizer.server.context import AppContext
    from tokenoptimizer.server.demo import ensure_demo_org, seed_demo_events
    from tokenoptimizer.usage.stores import EventStoreError

    settings = _settings()
    migrate.upgrade(settings.resolved_database_url)
    try:
        context = AppContext(settings)
    except EventStoreError as exc:
        raise _fail(str(exc)) from exc
    try:
        org_id, login = ensure_demo_org(context)
        with _progress() as progress:
            task = progress.add_task("Generating demo usage", total=events)
            stored = seed_demo_events(
                context,
                org_id,
                events=events,
                days=days,
                seed=seed,
                progress=lambda n: progress.advance(task, n),
            )
    finally:
        context.close()
    err.print(f"Stored {stored:,} events. Demo login: {login.email} / {login.password}")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: newest)."""
    from tokenoptimizer.db import migrate

    migrate.upgrade(_settings().resolved_database_url, revision)
    err.print(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision ('base' = empty).")] = "-1",
) -> None:
    """Revert migrations down to REVISION (default: one step)."""
    from tokenoptimizer.db import migrate

    migrate.downgrade(_settings().resolved_database_url, revision)
    err.print(f"database at {revision}")


def _database() -> Database:
    from tokenoptimizer.db import migrate
    from tokenoptimizer.db.base import Database

    settings = _settings()
    migrate.upgrade(settings.resolved_database_url)
    return Database(settings.resolved_database_url)


@keys_app.command("create")
def keys_create(
    project: Annotated[str, typer.Option(help="Project the key belongs to (created when new).")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: ingest, read, admin.")] = "ingest",
    org: Annotated[str | None, typer.Option(help="Organisation name (default: the only one).")] = None,
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
) -> None:
    """Create an API key; the key is printed alone on the last line (shown only once)."""
    from tokenoptimizer.accounts import service

    database = _database()
    try:
        with database.session() as session:
            organisation = service.resolve_organization(session, org)
            scope_list = [s.strip() for s in scopes.split(",") if s.strip()]
            _key, created_project, secret = service.create_api_key(
                session, org_id=organisation.id, project_name=project, scopes=scope_list, name=name
            )
            err.print(
                f"Created a key for project [bold]{created_project.name}[/bold] of "
                f"[bold]{organisation.name}[/bold] with scopes {', '.join(sorted(scope_list))}. "
                "Store it now: it is not shown again."
            )
    except service.AccountError as exc:
        raise _fail(str(exc)) from exc
    finally:
        database.dispose()
    print(secret)


@keys_app.command("list")
def keys_list(org: Annotated[str | None, typer.Option(help="Organisation name.")] = None) -> None:
    """List API keys (never their secrets)."""
    from tokenoptimizer.accounts import service

    database = _database()
    try:
        with database.session() as session:
            organisation = service.resolve_organization(session, org)
            table = Table("id", "prefix", "project", "scopes", "created", "last used", "revoked")
            for key, project in service.list_api_keys(session, organisation.id):
                table.add_row(
                    key.id,
                    key.prefix + "…",
                    project.name,
                    key.scopes,
                    f"{key.created_at:%Y-%m-%d %H:%M}",
                    f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
                    f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
                )
    except service.AccountError as exc:
        raise _fail(str(exc)) from exc
    finally:
        database.dispose()
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="Key id or its shown prefix (tko_xxxx).")],
    org: Annotated[str | None, typer.Option(help="Organisation name.")] = None,
) -> None:
    """Revoke an API key; requests with it are refused (within seconds on other servers)."""
    from tokenoptimizer.accounts import service

    database = _database()
    try:
        with database.session() as session:
            organisation = service.resolve_organization(session, org)
            revoked = service.revoke_api_key(session, organisation.id, key)
            err.print(f"Revoked key {revoked.prefix}… ({revoked.id}).")
    except service.AccountError as exc:
        raise _fail(str(exc)) from exc
    finally:
        database.dispose()


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Login e-mail.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    role: Annotated[str, typer.Option(help="owner, admin, member or viewer.")] = "member",
    org: Annotated[str | None, typer.Option(help="Organisation name (default: the only one).")] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Create a person who can log in to the dashboard."""
    from tokenoptimizer.accounts import service
    from tokenoptimizer.accounts.models import Role

    try:
        role_value = Role(role)
    except ValueError as exc:
        raise _fail("role must be owner, admin, member or viewer") from exc
    database = _database()
    try:
        with database.session() as session:
            organisation = service.resolve_organization(session, org)
            user = service.create_user(
                session, email=email, password=password, org_id=organisation.id, role=role_value, name=name
            )
            err.print(f"Created {user.email} ({role_value.value}) in {organisation.name}.")
    except service.AccountError as exc:
        raise _fail(str(exc)) from exc
    finally:
        database.dispose()


if __name__ == "__main__":
    app()
