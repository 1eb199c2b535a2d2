"""Seeding the demo organisation: a login, projects, keys and months of realistic usage.

Demo events go through the one ingestion pipeline like any other (priced, normalised, stored),
so the demo shows exactly what real traffic would.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tokenoptimizer.accounts import service
from tokenoptimizer.accounts.models import Organization, Role
from tokenoptimizer.server.context import AppContext
from tokenoptimizer.usage.demo import DEMO_PROJECTS, generate_demo_events
from tokenoptimizer.usage.pipeline import Attribution
from tokenoptimizer.usage.wire import WireEvent, to_wire

DEMO_ORG = "Demo"
DEMO_EMAIL = "demo@tokenoptimizer.local"


@dataclass(frozen=True)
class DemoLogin:
    """How to log in to the demo organisation."""

    email: str
    password: str
    created: bool


def ensure_demo_org(context: AppContext) -> tuple[str, DemoLogin]:
    """The demo organisation's id and login, creating both on first use.

    The password is random and kept in `<data_dir>/demo_login.txt` (mode 600), so every start can
    print it without a well-known password ever existing.
    """
    password_file: Path = context.settings.data_dir / "demo_login.txt"
    with context.db.session() as session:
        org = session.scalar(select(Organization).where(Organization.name == DEMO_ORG))
        if org is not None:
            password = password_file.read_text().strip() if password_file.exists() else "(see demo_login.txt)"
            return org.id, DemoLogin(DEMO_EMAIL, password, created=False)
        org = service.create_organization(session, DEMO_ORG)
        password = secrets.token_urlsafe(12)
        service.create_user(
            session, email=DEMO_EMAIL, password=password, org_id=org.id, role=Role.owner, name="Demo owner"
        )
        context.settings.data_dir.mkdir(parents=True, exist_ok=True)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        return org.id, DemoLogin(DEMO_EMAIL, password, created=True)


def seed_demo_events(
    context: AppContext,
    org_id: str,
    *,
    events: int,
    days: int = 90,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Generate and ingest demo usage for the organisation's demo projects; returns events stored."""
    with context.db.session() as session:
        project_ids = {
            name: service.get_or_create_project(session, org_id, name).id for name in DEMO_PROJECTS
        }
    stored = 0
    for chunk in generate_demo_events(events, days=days, seed=seed):
        by_project: dict[str, list[WireEvent]] = defaultdict(list)
        for raw in chunk:
            fields: dict[str, Any] = dict(raw)
            project = fields.pop("project")
            by_project[project].append(to_wire(fields))
        for project, batch in by_project.items():
            attribution = Attribution(org_id=org_id, project_id=project_ids[project])
            stored += context.pipeline.ingest_sync(batch, attribution, source="demo").accepted
        if progress is not None:
            progress(len(chunk))
    return stored
