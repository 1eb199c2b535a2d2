"""The `tokenoptimizer` command: serve, migrate, manage keys and users, generate demo data.

Every command reads the same `TOKENOPTIMIZER_*` settings as the server.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
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
    from tokenoptimizer.usage.import_rows import RejectedRow, RowReader
    from tokenoptimizer.usage.importer import ImportReport

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


SWITCH_INTERVAL_SECONDS = 0.0005
GC_THRESHOLDS = (20_000, 10, 10)


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
    from tokenoptimizer.server.app import create_app, served
    from tokenoptimizer.server.context import AppContext
    from tokenoptimizer.tokens.encodings import load_all as load_tokenizers
    from tokenoptimizer.usage.pipeline import warm_up
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
    application = served(create_app(settings, context=context))
    bind_host = host or settings.host
    bind_port = port or settings.port
    err.print(f"TokenOptimizer {__version__} on http://{bind_host}:{bind_port}  (API docs: /docs)")
    # Everything loaded so far (catalogue, tokenizers, models) lives as long as the process: keep
    # it out of the collector, whose full passes over it paused requests for 120-275 ms.
    warm_up()
    load_tokenizers()
    gc.collect()
    gc.freeze()
    # A batch of 1,000 events allocates ~5,000 objects that live until stored: with the default
    # thresholds (700, 10, 10) collections took 15 % of the time under load; 3 % with these.
    gc.set_threshold(*GC_THRESHOLDS)
    # Threads (the event writer, the gateway's recorder) get the interpreter lock within 0.5 ms of
    # asking instead of 5: each DuckDB call gives it up and waits for it again when done.
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
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


@app.command("import")
def import_file(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV or JSONL file (.csv, .jsonl, .ndjson; gzipped too).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="FIELD=COLUMN, repeatable (e.g. --map input_tokens=prompt_tokens)."),
    ] = None,
    provider: Annotated[str | None, typer.Option(help="Provider of rows without one.")] = None,
    project: Annotated[
        str | None, typer.Option(help="Project to import into (created when new); without --url only.")
    ] = None,
    org: Annotated[str | None, typer.Option(help="Organisation name (default: the only one).")] = None,
    format_: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: from the file name).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and price every row; store nothing.")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option(help="Write every rejected row (line, field, message) to this CSV file.")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            envvar="TOKENOPTIMIZER_BASE_URL", help="A running server: send the file through its API."
        ),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="TOKENOPTIMIZER_API_KEY", help="Ingest API key for --url.")
    ] = None,
    chunk_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows stored per batch.")] = 5_000,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Import usage from a CSV or JSONL file; re-running it never counts a row twice.

    With --url (or TOKENOPTIMIZER_BASE_URL) the file goes through a running server's API, in parts;
    without it, straight into the data directory (which a running server holds: then use --url).
    Exit code 0: every row imported; 2: some rows rejected (listed); 1: nothing done.
    """
    import csv

    from rich.progress import DownloadColumn

    from tokenoptimizer.usage.import_rows import (
        FileLines,
        ImportOptions,
        MappingError,
        RowReader,
        format_named,
        format_of,
        parse_mapping,
    )

    fmt = format_named(format_) if format_ else format_of(file.name)
    if fmt is None:
        raise _fail("cannot tell the file's format: give --format csv or --format jsonl")
    if url and (project or org):
        raise _fail("with --url the API key decides the organisation and project: drop --project/--org")
    if url and not api_key:
        raise _fail("--url needs an ingest API key: --api-key or TOKENOPTIMIZER_API_KEY")
    if not url and not project:
        raise _fail("give --project NAME to import into the data directory (or --url to use a server)")
    try:
        options = ImportOptions(format=fmt, mapping=parse_mapping(map_ or []), provider=provider)
    except MappingError as exc:
        raise _fail(str(exc)) from exc

    with ExitStack() as stack:
        run = _import_target(stack, url, api_key, project, org, dry_run, chunk_size)
        rejects_file = (
            stack.enter_context(rejects.open("w", newline="", encoding="utf-8")) if rejects else None
        )
        writer = csv.writer(rejects_file) if rejects_file else None
        if writer is not None:
            writer.writerow(["line", "field", "message"])

        def write_rejects(rows: Sequence[RejectedRow]) -> None:
            if writer is not None:
                writer.writerows([row.line, row.field or "", row.message] for row in rows)

        try:
            lines = stack.enter_context(FileLines(file))
            progress = stack.enter_context(
                Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    DownloadColumn(),
                    TimeRemainingColumn(),
                    console=err,
                )
            )
            task = progress.add_task("Checking" if dry_run else "Importing", total=lines.size)
            report = run(
                RowReader(lines, options),
                write_rejects,
                lambda: progress.update(task, completed=lines.position),
            )
            progress.update(task, completed=lines.size)
        except MappingError as exc:
            raise _fail(str(exc)) from exc
    _print_import_report(report, json_output, rejects)
    if report.rejected_count:
        raise typer.Exit(code=2)


ImportRun = Callable[
    ["RowReader", Callable[[Sequence["RejectedRow"]], None], Callable[[], None]], "ImportReport"
]


def _import_target(
    stack: ExitStack,
    url: str | None,
    api_key: str | None,
    project: str | None,
    org: str | None,
    dry_run: bool,
    chunk_size: int,
) -> ImportRun:
    """How rows will be imported: through a server, or into the data directory (opened now)."""
    if url:
        from tokenoptimizer.usage.import_client import ImportClientError, check_server, send_rows

        try:
            check_server(url, api_key or "")
        except ImportClientError as exc:
            raise _fail(str(exc)) from exc

        def through_server(
            reader: RowReader, on_reject: Callable[..., None], on_chunk: Callable[[], None]
        ) -> ImportReport:
            try:
                return send_rows(
                    url,
                    api_key or "",
                    reader,
                    dry_run=dry_run,
                    chunk_rows=chunk_size,
                    on_reject=on_reject,
                    on_chunk=on_chunk,
                )
            except ImportClientError as exc:
                raise _fail(str(exc)) from exc

        return through_server

    from tokenoptimizer.accounts import service
    from tokenoptimizer.db import migrate
    from tokenoptimizer.server.context import AppContext
    from tokenoptimizer.usage.importer import import_rows_sync
    from tokenoptimizer.usage.pipeline import Attribution
    from tokenoptimizer.usage.stores import EventStoreError

    settings = _settings()
    migrate.upgrade(settings.resolved_database_url)
    try:
        context = AppContext(settings)
    except EventStoreError as exc:
        raise _fail(
            f"{exc} To import while it runs: tokenoptimizer import FILE --url http://HOST:PORT "
            "--api-key tko_… (or set TOKENOPTIMIZER_BASE_URL and TOKENOPTIMIZER_API_KEY)."
        ) from exc
    stack.callback(context.close)
    try:
        with context.db.session() as session:
            organisation = service.resolve_organization(session, org)
            target = service.get_or_create_project(session, organisation.id, project or "")
            attribution = Attribution(org_id=organisation.id, project_id=target.id)
    except service.AccountError as exc:
        raise _fail(str(exc)) from exc

    def into_data_directory(
        reader: RowReader, on_reject: Callable[..., None], on_chunk: Callable[[], None]
    ) -> ImportReport:
        return import_rows_sync(
            context.pipeline,
            attribution,
            reader,
            dry_run=dry_run,
            chunk_rows=chunk_size,
            on_reject=on_reject,
            on_chunk=on_chunk,
        )

    return into_data_directory


def _print_import_report(report: ImportReport, json_output: bool, rejects: Path | None) -> None:
    if json_output:
        print(report.model_dump_json(indent=2))
        return
    if report.dry_run:
        out.print(
            f"Dry run: {report.rows:,} rows read, {report.accepted:,} valid, "
            f"{report.rejected_count:,} rejected; nothing stored. "
            f"Cost of the valid rows: ${report.cost_usd or 0:,.6f}."
        )
    else:
        out.print(
            f"{report.rows:,} rows read: {report.accepted:,} stored, {report.duplicates:,} already "
            f"stored (duplicates), {report.rejected_count:,} rejected."
        )
    if report.unpriced_models:
        out.print(f"[yellow]No price for:[/yellow] {', '.join(report.unpriced_models)} (priced 0, flagged).")
    if report.ignored_columns:
        out.print(f"Columns not imported: {', '.join(report.ignored_columns)}")
    if report.rejected:
        table = Table("line", "field", "reason", title="Rejected rows")
        for row in report.rejected[:20]:
            table.add_row(str(row.line), row.field or "(row)", row.message)
        out.print(table)
        if report.rejected_count > 20:
            where = f" (all of them are in {rejects})" if rejects else " (--rejects FILE writes them all)"
            out.print(f"… and {report.rejected_count - 20:,} more{where}.")


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
