"""Every metadata table, imported in one place so Alembic and tests see the whole schema."""

# Capabilities whose tables are registered by importing their models module.
import tokenoptimizer.budgets.models
import tokenoptimizer.budgets.wallets.models
import tokenoptimizer.gateway.models
import tokenoptimizer.notify.models  # noqa: F401
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
