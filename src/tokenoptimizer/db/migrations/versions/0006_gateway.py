"""gateway: gateway upstreams and routing rules

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_upstreams",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("api", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("api_key_encrypted", sa.String(length=2000), nullable=True),
        sa.Column("api_key_hint", sa.String(length=16), nullable=True),
        sa.Column("auth_style", sa.String(length=16), nullable=False),
        sa.Column("allowed_models", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_gateway_upstreams_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_gateway_upstreams_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_upstreams")),
        sa.UniqueConstraint("org_id", "name", name="uq_gateway_upstreams_org_id_name"),
    )
    with op.batch_alter_table("gateway_upstreams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_upstreams_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gateway_upstreams_project_id"), ["project_id"], unique=False)

    op.create_table(
        "gateway_routing_rules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("feature", sa.String(length=200), nullable=True),
        sa.Column("model_pattern", sa.String(length=200), nullable=False),
        sa.Column("target_model", sa.String(length=200), nullable=True),
        sa.Column("upstream_id", sa.String(length=36), nullable=True),
        sa.Column("fallback_upstream_id", sa.String(length=36), nullable=True),
        sa.Column("fallback_model", sa.String(length=200), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_gateway_routing_rules_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_gateway_routing_rules_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["upstream_id"],
            ["gateway_upstreams.id"],
            name=op.f("fk_gateway_routing_rules_upstream_id_gateway_upstreams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["fallback_upstream_id"],
            ["gateway_upstreams.id"],
            name=op.f("fk_gateway_routing_rules_fallback_upstream_id_gateway_upstreams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_routing_rules")),
    )
    with op.batch_alter_table("gateway_routing_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_routing_rules_org_id"), ["org_id"], unique=False)

    op.create_table(
        "gateway_settings",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("allow_key_passthrough", sa.Boolean(), nullable=True),
        sa.Column("rpm_per_key", sa.Integer(), nullable=True),
        sa.Column("tpm_per_key", sa.Integer(), nullable=True),
        sa.Column("rpm_per_project", sa.Integer(), nullable=True),
        sa.Column("tpm_per_project", sa.Integer(), nullable=True),
        sa.Column("rpm_per_user", sa.Integer(), nullable=True),
        sa.Column("tpm_per_user", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_gateway_settings_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_gateway_settings")),
    )


def downgrade() -> None:
    op.drop_table("gateway_settings")
    with op.batch_alter_table("gateway_routing_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_routing_rules_org_id"))
    op.drop_table("gateway_routing_rules")
    with op.batch_alter_table("gateway_upstreams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_upstreams_project_id"))
        batch_op.drop_index(batch_op.f("ix_gateway_upstreams_org_id"))
    op.drop_table("gateway_upstreams")
