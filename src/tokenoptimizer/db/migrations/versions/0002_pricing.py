"""pricing: org billing settings, price overrides, audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_audit_log_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_org_id"), ["org_id"], unique=False)

    op.create_table(
        "price_overrides",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model_pattern", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=True),
        sa.Column("input_per_mtok", sa.Float(), nullable=True),
        sa.Column("cache_read_per_mtok", sa.Float(), nullable=True),
        sa.Column("cache_write_per_mtok", sa.Float(), nullable=True),
        sa.Column("output_per_mtok", sa.Float(), nullable=True),
        sa.Column("reasoning_per_mtok", sa.Float(), nullable=True),
        sa.Column("discount_percent", sa.Float(), nullable=True),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("effective_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_price_overrides_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_overrides")),
    )
    with op.batch_alter_table("price_overrides", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_price_overrides_org_id"), ["org_id"], unique=False)

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fee_percents", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("fixed_fx_rate", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("electricity_zone", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("m2_per_kg_co2e", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("m2_per_kg_co2e")
        batch_op.drop_column("electricity_zone")
        batch_op.drop_column("fixed_fx_rate")
        batch_op.drop_column("fee_percents")

    with op.batch_alter_table("price_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_overrides_org_id"))

    op.drop_table("price_overrides")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_org_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_created_at"))

    op.drop_table("audit_log")
