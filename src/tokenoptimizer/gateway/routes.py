"""HTTP routes of the gateway: the proxy endpoints, and the API that configures them.

* `/gateway/openai/v1/…` and `/gateway/anthropic/v1/…`: the proxy (see `proxy`), authenticated
  with a TokenOptimizer API key with the `ingest` scope.
* `/api/v1/upstreams`, `/api/v1/routing-rules`, `/api/v1/gateway/settings`: configuration.
  Everyone in the organisation may read (keys are never returned, only their last characters);
  only admins may change, and every change is written to the audit log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from fastapi.exceptions import RequestValidationError
from starlette.routing import Route

from tokenoptimizer.accounts.service import actor_name
from tokenoptimizer.gateway import service
from tokenoptimizer.gateway.models import RoutingRule
from tokenoptimizer.gateway.proxy import GatewayProxy
from tokenoptimizer.gateway.schemas import (
    EffectiveGatewaySettings,
    GatewaySettingsIn,
    GatewaySettingsPublic,
    RoutingRuleIn,
    RoutingRulePublic,
    RoutingRuleUpdate,
    UpstreamIn,
    UpstreamPublic,
    UpstreamUpdate,
)
from tokenoptimizer.server.context import AppContext
from tokenoptimizer.server.deps import AdminCaller, Caller, ContextDep, ReadCaller, SessionDep


@asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[None]:
    """At shutdown, store the calls still queued and close upstream connections (in the loop)."""
    yield
    context: AppContext = app.state.context
    await context.gateway.aclose()


router = APIRouter(lifespan=_lifespan)

_PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
router.routes.append(
    Route(
        "/gateway/openai/v1/{path:path}",
        GatewayProxy("openai"),
        methods=_PROXY_METHODS,
        include_in_schema=False,
    )
)
router.routes.append(
    Route(
        "/gateway/anthropic/v1/{path:path}",
        GatewayProxy("anthropic"),
        methods=_PROXY_METHODS,
        include_in_schema=False,
    )
)

api = APIRouter(prefix="/api/v1", tags=["gateway"])


def _actor(caller: Caller) -> str:
    return actor_name(caller.user_id, caller.api_key_id)


def _invalid(exc: service.Invalid) -> RequestValidationError:
    return RequestValidationError([{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}])


# -- upstreams -------------------------------------------------------------------------------------


@api.get("/upstreams", response_model=list[UpstreamPublic])
def list_upstreams(caller: ReadCaller, session: SessionDep) -> list[UpstreamPublic]:
    """The organisation's upstreams (provider endpoints the gateway forwards to); keys masked."""
    rows = service.list_upstreams(session, caller.org_id, caller.project_restriction)
    return [service.upstream_public(row) for row in rows]


@api.post("/upstreams", status_code=status.HTTP_201_CREATED, response_model=UpstreamPublic)
def create_upstream(
    body: UpstreamIn, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> UpstreamPublic:
    """Add an upstream. Its key is stored encrypted and never returned."""
    try:
        row = service.create_upstream(
            session, caller.org_id, _actor(caller), context.settings.resolved_secret_key, body
        )
    except service.Invalid as exc:
        raise _invalid(exc) from exc
    except service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    session.commit()
    context.gateway.invalidate(caller.org_id)
    return service.upstream_public(row)


@api.get("/upstreams/{upstream_id}", response_model=UpstreamPublic)
def get_upstream(upstream_id: str, caller: ReadCaller, session: SessionDep) -> UpstreamPublic:
    """One upstream."""
    try:
        row = service.get_upstream(session, caller.org_id, upstream_id)
    except service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such upstream") from exc
    restriction = caller.project_restriction
    if restriction is not None and row.project_id not in (None, restriction):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such upstream")
    return service.upstream_public(row)


@api.patch("/upstreams/{upstream_id}", response_model=UpstreamPublic)
def update_upstream(
    upstream_id: str, body: UpstreamUpdate, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> UpstreamPublic:
    """Change an upstream's fields; omitted fields stay (`api_key: null` removes the key)."""
    try:
        row = service.update_upstream(
            session, caller.org_id, _actor(caller), context.settings.resolved_secret_key, upstream_id, body
        )
    except service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such upstream") from exc
    except service.Invalid as exc:
        raise _invalid(exc) from exc
    except service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    session.commit()
    context.gateway.invalidate(caller.org_id)
    return service.upstream_public(row)


@api.delete("/upstreams/{upstream_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_upstream(
    upstream_id: str, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> Response:
    """Delete an upstream (refused with 409 while routing rules use it)."""
    try:
        service.delete_upstream(session, caller.org_id, _actor(caller), upstream_id)
    except service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such upstream") from exc
    except service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    session.commit()
    context.gateway.invalidate(caller.org_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- routing rules ---------------------------------------------------------------------------------


@api.get("/routing-rules", response_model=list[RoutingRulePublic])
def list_routing_rules(caller: ReadCaller, session: SessionDep) -> list[RoutingRule]:
    """The organisation's routing rules, in the order the gateway tries them."""
    return service.list_rules(session, caller.org_id, caller.project_restriction)


@api.post("/routing-rules", status_code=status.HTTP_201_CREATED, response_model=RoutingRulePublic)
def create_routing_rule(
    body: RoutingRuleIn, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> RoutingRule:
    """Add a rule: serve a model's calls with another model and/or upstream (optional fallback).

    Events record both the requested and the served model.
    """
    try:
        row = service.create_rule(session, caller.org_id, _actor(caller), body)
    except service.Invalid as exc:
        raise _invalid(exc) from exc
    session.commit()
    context.gateway.invalidate(caller.org_id)
    return row


@api.get("/routing-rules/{rule_id}", response_model=RoutingRulePublic)
def get_routing_rule(rule_id: str, caller: ReadCaller, session: SessionDep) -> RoutingRule:
    """One routing rule."""
    try:
        row = service.get_rule(session, caller.org_id, rule_id)
    except service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such routing rule") from exc
    restriction = caller.project_restriction
    if restriction is not None and row.project_id not in (None, restriction):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such routing rule")
    return row


@api.patch("/routing-rules/{rule_id}", response_model=RoutingRulePublic)
def update_routing_rule(
    rule_id: str, body: RoutingRuleUpdate, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> RoutingRule:
    """Change a rule's fields; omitted fields stay, `null` clears an optional one."""
    try:
        row = service.update_rule(session, caller.org_id, _actor(caller), rule_id, body)
    except service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such routing rule") from exc
    except service.Invalid as exc:
        raise _invalid(exc) from exc
    session.commit()
    context.gateway.invalidate(caller.org_id)
    return row


@api.delete("/routing-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_routing_rule(
    rule_id: str, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> Response:
    """Delete a routing rule."""
    try:
        service.delete_rule(session, caller.org_id, _actor(caller), rule_id)
    except service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such routing rule") from exc
    session.commit()
    context.gateway.invalidate(caller.org_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- settings --------------------------------------------------------------------------------------


def _settings_public(context: ContextDep, caller: Caller, session: SessionDep) -> GatewaySettingsPublic:
    row = service.get_settings(session, caller.org_id)
    own = GatewaySettingsIn(
        **{name: getattr(row, name) for name in GatewaySettingsIn.model_fields} if row is not None else {}
    )
    gateway = context.gateway
    limits = service.effective_limits(row, gateway.default_limits)
    passthrough = context.settings.gateway_allow_key_passthrough
    if row is not None and row.allow_key_passthrough is not None:
        passthrough = row.allow_key_passthrough
    configured = [api for api, target in gateway.defaults.items() if target.api_key]
    effective = EffectiveGatewaySettings(
        allow_key_passthrough=passthrough,
        **{name: getattr(limits, name) for name in service.LIMIT_FIELDS},
        server_default_upstreams=configured,
    )
    return GatewaySettingsPublic(**own.model_dump(), effective=effective)


@api.get("/gateway/settings", response_model=GatewaySettingsPublic)
def get_gateway_settings(
    caller: ReadCaller, session: SessionDep, context: ContextDep
) -> GatewaySettingsPublic:
    """Key pass-through and rate limits: the organisation's own, and those in force."""
    return _settings_public(context, caller, session)


@api.put("/gateway/settings", response_model=GatewaySettingsPublic)
def put_gateway_settings(
    body: GatewaySettingsIn, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> GatewaySettingsPublic:
    """Replace the organisation's gateway settings (null: the server default)."""
    service.put_settings(session, caller.org_id, _actor(caller), body)
    session.commit()
    context.gateway.invalidate(caller.org_id)
    return _settings_public(context, caller, session)


router.include_router(api)
