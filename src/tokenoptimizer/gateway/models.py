"""Tables of the gateway: upstreams (provider endpoints and keys), routing rules, per-org settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tokenoptimizer.db.base import Base, UTCDateTime, new_id, utcnow


class Upstream(Base):
    """A provider endpoint the gateway forwards to, with its (encrypted) key.

    `api` is the wire format the upstream speaks (`openai` for every OpenAI-compatible server,
    `anthropic`); `provider` is who is paid, for pricing (`openai`, `groq`, `azure`, …).
    """

    __tablename__ = "gateway_upstreams"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_gateway_upstreams_org_id_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    api: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(64))
    base_url: Mapped[str] = mapped_column(String(500))
    api_key_encrypted: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    api_key_hint: Mapped[str | None] = mapped_column(String(16), nullable=True)
    auth_style: Mapped[str] = mapped_column(String(16))
    allowed_models: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RoutingRule(Base):
    """Rewrite a model (and/or send it to an upstream) for an org, a project or a feature."""

    __tablename__ = "gateway_routing_rules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True
    )
    feature: Mapped[str | None] = mapped_column(String(200), nullable=True)
    model_pattern: Mapped[str] = mapped_column(String(200))
    target_model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    upstream_id: Mapped[str | None] = mapped_column(
        ForeignKey("gateway_upstreams.id", ondelete="CASCADE"), nullable=True
    )
    fallback_upstream_id: Mapped[str | None] = mapped_column(
        ForeignKey("gateway_upstreams.id", ondelete="CASCADE"), nullable=True
    )
    fallback_model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class GatewaySettings(Base):
    """An organisation's gateway settings; a missing row or a null field means the server default."""

    __tablename__ = "gateway_settings"

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    allow_key_passthrough: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    rpm_per_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tpm_per_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rpm_per_project: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tpm_per_project: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rpm_per_user: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tpm_per_user: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
