"""Every metadata table, imported in one place so Alembic and tests see the whole schema."""

from tokenoptimizer.accounts.models import (
    ApiKey,
    AuditEntry,
    Membership,
    Organization,
    Project,
    Team,
    TeamMember,
    User,
    UserSession,
)
from tokenoptimizer.db.base import Base
from tokenoptimizer.pricing_api.models import PriceOverrideRow

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Base",
    "Membership",
    "Organization",
    "PriceOverrideRow",
    "Project",
    "Team",
    "TeamMember",
    "User",
    "UserSession",
]
