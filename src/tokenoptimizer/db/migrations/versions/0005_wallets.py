"""wallets: wallets and their ledger

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wallets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_value", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance_micros", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("block_when_empty", sa.Boolean(), nullable=False),
        sa.Column("auto_refill_amount", sa.Float(), nullable=True),
        sa.Column("auto_refill_threshold", sa.Float(), nullable=True),
        sa.Column("auto_refill_interval", sa.String(length=16), nullable=True),
        sa.Column("auto_refill_max_per_month", sa.Integer(), nullable=False),
        sa.Column("refill_month", sa.String(length=7), nullable=True),
        sa.Column("refills_this_month", sa.Integer(), nullable=False),
        sa.Column("next_refill_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_wallets_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallets")),
        sa.UniqueConstraint("org_id", "owner_kind", "owner_value", name="uq_wallets_org_id_owner"),
    )
    with op.batch_alter_table("wallets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wallets_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_wallets_next_refill_at"), ["next_refill_at"], unique=False)

    op.create_table(
        "wallet_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("wallet_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("balance_after_micros", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["wallet_id"],
            ["wallets.id"],
            name=op.f("fk_wallet_entries_wallet_id_wallets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_wallet_entries_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_entries")),
        sa.UniqueConstraint("wallet_id", "reference", name="uq_wallet_entries_wallet_id_reference"),
        sa.UniqueConstraint("wallet_id", "seq", name="uq_wallet_entries_wallet_id_seq"),
    )
    with op.batch_alter_table("wallet_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wallet_entries_wallet_id"), ["wallet_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_wallet_entries_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_table("wallet_entries")
    op.drop_table("wallets")
