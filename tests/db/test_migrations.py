from sqlalchemy import create_engine, inspect

from tokenoptimizer.db import migrate
from tokenoptimizer.db.models import Base


def _tables(url: str) -> dict[str, set[str]]:
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        return {
            name: {column["name"] for column in inspector.get_columns(name)}
            for name in inspector.get_table_names()
            if name != "alembic_version"
        }
    finally:
        engine.dispose()


def test_upgrade_creates_every_model_column_and_downgrade_removes_them(database_url: str) -> None:
    migrate.upgrade(database_url)
    tables = _tables(database_url)
    expected = {
        table.name: {column.name for column in table.columns} for table in Base.metadata.sorted_tables
    }
    assert tables == expected
    assert {"organizations", "projects", "teams", "team_members", "users", "memberships", "api_keys"} <= set(
        tables
    )
    assert {"key_hash", "prefix", "scopes", "last_used_at", "revoked_at", "project_id"} <= tables["api_keys"]

    migrate.downgrade(database_url)
    assert _tables(database_url) == {}

    migrate.upgrade(database_url)  # and back up again, as a real rollback-and-retry would
    assert _tables(database_url) == expected
