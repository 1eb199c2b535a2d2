"""Gateway configuration logic: upstreams, routing rules and settings in the database. No HTTP here.

Every change is written to the organisation's audit log (who changed which rule from what to
what), which is the routing rules' audit trail. Provider keys are encrypted with the server's
secret key (`db.secrets`) and never leave this module in clear except into the gateway's
in-memory configuration (`load_org_gateway`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tokenoptimizer.accounts.models import Project
from tokenoptimizer.accounts.service import audit
from tokenoptimizer.db.secrets import SecretUnreadable, decrypt_secret, encrypt_secret, mask_secret
from tokenoptimizer.gateway.config import OrgGateway, RateLimits, Rule, UpstreamTarget, guess_provider
from tokenoptimizer.gateway.models import GatewaySettings, RoutingRule, Upstream
from tokenoptimizer.gateway.schemas import (
    GatewaySettingsIn,
    RoutingRuleIn,
    RoutingRuleUpdate,
    UpstreamIn,
    UpstreamPublic,
    UpstreamUpdate,
)

DEFAULT_AUTH_STYLE = {"openai": "bearer", "anthropic": "x-api-key"}
LIMIT_FIELDS = (
    "rpm_per_key",
    "tpm_per_key",
    "rpm_per_project",
    "tpm_per_project",
    "rpm_per_user",
    "tpm_per_user",
)


class NotFound(LookupError):
    """No such row in the caller's organisation."""


class Invalid(ValueError):
    """A request that cannot be applied; `field` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Conflict(ValueError):
    """A change that clashes with stored rows (a taken name, an upstream still used by rules)."""


# -- upstreams -------------------------------------------------------------------------------------


def upstream_public(row: Upstream) -> UpstreamPublic:
    """The API shape of an upstream: its key only as a hint."""
    return UpstreamPublic(
        id=row.id,
        name=row.name,
        api=row.api,
        provider=row.provider,
        base_url=row.base_url,
        has_api_key=row.api_key_encrypted is not None,
        api_key_hint=row.api_key_hint,
        auth_style=row.auth_style,
        allowed_models=list(row.allowed_models or []),
        project_id=row.project_id,
        enabled=row.enabled,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _snapshot(row: Upstream | RoutingRule) -> dict[str, Any]:
    """A row's fields for the audit log (never the key)."""
    skip = {"api_key_encrypted", "created_at", "updated_at", "org_id"}
    return {c.name: getattr(row, c.name) for c in row.__table__.columns if c.name not in skip}


def _check_project(session: Session, org_id: str, project_id: str | None) -> None:
    if project_id is None:
        return
    project = session.get(Project, project_id)
    if project is None or project.org_id != org_id:
        raise Invalid("project_id", f"no project {project_id!r} in this organisation")


def _check_name_free(session: Session, org_id: str, name: str, exclude_id: str | None = None) -> None:
    query = select(Upstream.id).where(Upstream.org_id == org_id, Upstream.name == name)
    if exclude_id is not None:
        query = query.where(Upstream.id != exclude_id)
    if session.scalar(query) is not None:
        raise Conflict(f"an upstream named {name!r} already exists")


def list_upstreams(session: Session, org_id: str, project_id: str | None = None) -> list[Upstream]:
    """The organisation's upstreams (only org-wide ones and `project_id`'s, when given)."""
    query = select(Upstream).where(Upstream.org_id == org_id)
    if project_id is not None:
        query = query.where(or_(Upstream.project_id.is_(None), Upstream.project_id == project_id))
    return list(session.scalars(query.order_by(Upstream.name)))


def get_upstream(session: Session, org_id: str, upstream_id: str) -> Upstream:
    """One upstream of the organisation."""
    row = session.get(Upstream, upstream_id)
    if row is None or row.org_id != org_id:
        raise NotFound(upstream_id)
    return row


def _set_key(row: Upstream, secret_key: str, api_key: str | None) -> None:
    row.api_key_encrypted = encrypt_secret(secret_key, api_key) if api_key else None
    row.api_key_hint = mask_secret(api_key) if api_key else None


def create_upstream(session: Session, org_id: str, actor: str, secret_key: str, body: UpstreamIn) -> Upstream:
    """Store a new upstream (its key encrypted)."""
    _check_project(session, org_id, body.project_id)
    _check_name_free(session, org_id, body.name)
    row = Upstream(
        org_id=org_id,
        project_id=body.project_id,
        name=body.name,
        api=body.api,
        provider=body.provider or guess_provider(body.base_url, body.api),
        base_url=body.base_url,
        auth_style=body.auth_style or DEFAULT_AUTH_STYLE[body.api],
        allowed_models=body.allowed_models,
        enabled=body.enabled,
    )
    _set_key(row, secret_key, body.api_key)
    session.add(row)
    session.flush()
    audit(session, org_id, actor, "gateway.upstream.create", row.id, _audit_upstream(row, body.api_key))
    return row


def _audit_upstream(row: Upstream, api_key: str | None) -> dict[str, Any]:
    details = _snapshot(row)
    details["api_key"] = mask_secret(api_key) if api_key else None
    return details


def update_upstream(
    session: Session, org_id: str, actor: str, secret_key: str, upstream_id: str, body: UpstreamUpdate
) -> Upstream:
    """Change the given fields of an upstream."""
    row = get_upstream(session, org_id, upstream_id)
    before = _snapshot(row)
    changes = body.model_dump(exclude_unset=True)
    if "project_id" in changes:
        _check_project(session, org_id, changes["project_id"])
    if "name" in changes:
        _check_name_free(session, org_id, changes["name"], exclude_id=row.id)
    if "api" in changes and changes["api"] != row.api and _rules_using(session, org_id, row.id):
        raise Conflict("routing rules send calls to this upstream; change or delete them before its api")
    for name, value in changes.items():
        if name == "api_key":
            _set_key(row, secret_key, value)
        else:
            setattr(row, name, value)
    if "api" in changes and "auth_style" not in changes:
        row.auth_style = DEFAULT_AUTH_STYLE[row.api]
    if ("base_url" in changes or "api" in changes) and "provider" not in changes:
        row.provider = guess_provider(row.base_url, row.api)
    session.flush()
    after = _snapshot(row)
    details: dict[str, Any] = {
        "before": {k: v for k, v in before.items() if after.get(k) != v},
        "after": {k: v for k, v in after.items() if before.get(k) != v},
    }
    if "api_key" in changes:
        details["api_key"] = "replaced" if changes["api_key"] else "removed"
    audit(session, org_id, actor, "gateway.upstream.update", row.id, details)
    return row


def _rules_using(session: Session, org_id: str, upstream_id: str) -> list[RoutingRule]:
    query = select(RoutingRule).where(
        RoutingRule.org_id == org_id,
        or_(RoutingRule.upstream_id == upstream_id, RoutingRule.fallback_upstream_id == upstream_id),
    )
    return list(session.scalars(query))


def delete_upstream(session: Session, org_id: str, actor: str, upstream_id: str) -> None:
    """Delete an upstream no routing rule uses."""
    row = get_upstream(session, org_id, upstream_id)
    users = _rules_using(session, org_id, row.id)
    if users:
        raise Conflict(
            f"{len(users)} routing rule(s) use this upstream ({', '.join(r.id for r in users)}); "
            "delete or change them first"
        )
    audit(session, org_id, actor, "gateway.upstream.delete", row.id, _snapshot(row))
    session.delete(row)


# -- routing rules ---------------------------------------------------------------------------------


def list_rules(session: Session, org_id: str, project_id: str | None = None) -> list[RoutingRule]:
    """The organisation's routing rules in the order they are tried."""
    query = select(RoutingRule).where(RoutingRule.org_id == org_id)
    if project_id is not None:
        query = query.where(or_(RoutingRule.project_id.is_(None), RoutingRule.project_id == project_id))
    return list(session.scalars(query.order_by(RoutingRule.priority, RoutingRule.created_at, RoutingRule.id)))


def get_rule(session: Session, org_id: str, rule_id: str) -> RoutingRule:
    """One routing rule of the organisation."""
    row = session.get(RoutingRule, rule_id)
    if row is None or row.org_id != org_id:
        raise NotFound(rule_id)
    return row


def _check_rule(session: Session, org_id: str, values: Mapping[str, Any]) -> None:
    _check_project(session, org_id, values.get("project_id"))
    apis = {}
    for field in ("upstream_id", "fallback_upstream_id"):
        upstream_id = values.get(field)
        if upstream_id is not None:
            row = session.get(Upstream, upstream_id)
            if row is None or row.org_id != org_id:
                raise Invalid(field, f"no upstream {upstream_id!r} in this organisation")
            apis[field] = row.api
    if len(set(apis.values())) > 1:
        raise Invalid("fallback_upstream_id", "the fallback upstream must speak the same api as the upstream")
    if values.get("fallback_model") is not None and values.get("fallback_upstream_id") is None:
        raise Invalid("fallback_model", "fallback_model needs fallback_upstream_id")
    if values.get("target_model") is None and values.get("upstream_id") is None:
        if values.get("fallback_upstream_id") is None:
            raise Invalid("target_model", "a rule needs target_model, upstream_id or fallback_upstream_id")


def create_rule(session: Session, org_id: str, actor: str, body: RoutingRuleIn) -> RoutingRule:
    """Store a routing rule."""
    values = body.model_dump()
    _check_rule(session, org_id, values)
    row = RoutingRule(org_id=org_id, **values)
    session.add(row)
    session.flush()
    audit(session, org_id, actor, "gateway.routing_rule.create", row.id, _snapshot(row))
    return row


def update_rule(
    session: Session, org_id: str, actor: str, rule_id: str, body: RoutingRuleUpdate
) -> RoutingRule:
    """Change the given fields of a routing rule."""
    row = get_rule(session, org_id, rule_id)
    before = _snapshot(row)
    changes = body.model_dump(exclude_unset=True)
    _check_rule(session, org_id, {**before, **changes})
    for name, value in changes.items():
        setattr(row, name, value)
    session.flush()
    after = _snapshot(row)
    audit(
        session,
        org_id,
        actor,
        "gateway.routing_rule.update",
        row.id,
        {
            "before": {k: v for k, v in before.items() if after.get(k) != v},
            "after": {k: v for k, v in after.items() if before.get(k) != v},
        },
    )
    return row


def delete_rule(session: Session, org_id: str, actor: str, rule_id: str) -> None:
    """Delete a routing rule."""
    row = get_rule(session, org_id, rule_id)
    audit(session, org_id, actor, "gateway.routing_rule.delete", row.id, _snapshot(row))
    session.delete(row)


# -- settings --------------------------------------------------------------------------------------


def get_settings(session: Session, org_id: str) -> GatewaySettings | None:
    """The organisation's own gateway settings, if it saved any."""
    return session.get(GatewaySettings, org_id)


def put_settings(session: Session, org_id: str, actor: str, body: GatewaySettingsIn) -> GatewaySettings:
    """Replace the organisation's gateway settings."""
    row = session.get(GatewaySettings, org_id)
    if row is None:
        row = GatewaySettings(org_id=org_id)
        session.add(row)
    for name, value in body.model_dump().items():
        setattr(row, name, value)
    session.flush()
    audit(session, org_id, actor, "gateway.settings.update", org_id, body.model_dump())
    return row


def effective_limits(row: GatewaySettings | None, defaults: RateLimits) -> RateLimits:
    """The organisation's limits, each falling back to the server's default."""
    if row is None:
        return defaults
    values = {name: getattr(row, name) for name in LIMIT_FIELDS}
    return RateLimits(
        **{
            name: values[name] if values[name] is not None else getattr(defaults, name)
            for name in LIMIT_FIELDS
        }
    )


# -- the in-memory configuration -------------------------------------------------------------------


def load_org_gateway(
    session: Session,
    org_id: str,
    *,
    secret_key: str,
    defaults: dict[str, UpstreamTarget],
    default_limits: RateLimits,
    default_passthrough: bool,
) -> OrgGateway:
    """Everything the gateway needs to route an organisation's calls, keys decrypted.

    An upstream whose key cannot be decrypted (the server's secret key changed) is loaded without
    it, so its calls fail with the provider's 401 rather than the whole organisation's.
    """
    upstreams: list[UpstreamTarget] = []
    for row in session.scalars(
        select(Upstream).where(Upstream.org_id == org_id, Upstream.enabled.is_(True)).order_by(Upstream.name)
    ):
        api_key: str | None = None
        if row.api_key_encrypted:
            try:
                api_key = decrypt_secret(secret_key, row.api_key_encrypted)
            except SecretUnreadable:
                api_key = None
        upstreams.append(
            UpstreamTarget(
                id=row.id,
                name=row.name,
                api=row.api,  # type: ignore[arg-type]
                provider=row.provider,
                base_url=row.base_url,
                api_key=api_key,
                auth_style=row.auth_style,
                allowed_models=tuple(row.allowed_models or ()),
                project_id=row.project_id,
            )
        )
    rules = tuple(
        Rule(
            id=row.id,
            model_pattern=row.model_pattern,
            target_model=row.target_model,
            upstream_id=row.upstream_id,
            fallback_upstream_id=row.fallback_upstream_id,
            fallback_model=row.fallback_model,
            project_id=row.project_id,
            feature=row.feature,
        )
        for row in list_rules(session, org_id)
        if row.enabled
    )
    settings = get_settings(session, org_id)
    passthrough = default_passthrough
    if settings is not None and settings.allow_key_passthrough is not None:
        passthrough = settings.allow_key_passthrough
    return OrgGateway(
        upstreams=tuple(upstreams),
        rules=rules,
        limits=effective_limits(settings, default_limits),
        allow_key_passthrough=passthrough,
        defaults=defaults,
    )
