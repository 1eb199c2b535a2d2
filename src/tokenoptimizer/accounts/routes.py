"""HTTP routes for people and credentials: sign-up, login, the caller, projects and API keys."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy import select

from tokenoptimizer.accounts import service
from tokenoptimizer.accounts.models import ApiKey, Organization, Project, Role, User
from tokenoptimizer.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    LoginIn,
    MePublic,
    OrganizationPublic,
    OrganizationUpdate,
    ProjectPublic,
    SessionPublic,
    SignupIn,
    UserPublic,
)
from tokenoptimizer.impact import electricity_zones
from tokenoptimizer.pricing import convert_currency
from tokenoptimizer.server.deps import (
    SESSION_COOKIE,
    AdminCaller,
    ContextDep,
    ReadCaller,
    SessionDep,
    UserCaller,
)

auth_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _set_session_cookie(response: Response, token: str, context: ContextDep) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=context.settings.session_days * 86400,
        httponly=True,
        secure=context.settings.cookie_secure,
        samesite="lax",
        path="/",
    )


def _me(session: SessionDep, user_id: str, org_id: str, role: Role) -> MePublic:
    user = session.get(User, user_id)
    org = session.get(Organization, org_id)
    assert user is not None and org is not None
    return MePublic(
        user=UserPublic.model_validate(user),
        organization=OrganizationPublic.model_validate(org),
        role=role.value,
    )


@auth_router.get("/session", response_model=SessionPublic)
def current_session(request: Request, session: SessionDep) -> SessionPublic:
    """Who is logged in (or null), and whether first-run sign-up is open. Never 401.

    Lets the dashboard decide between its pages and the login screen without provoking an error.
    """
    token = request.cookies.get(SESSION_COOKIE)
    found = service.session_user(session, token) if token else None
    me = _me(session, found[0].id, found[1].org_id, found[1].role) if found else None
    return SessionPublic(user=me, signup_open=service.user_count(session) == 0)


@auth_router.post("/signup", status_code=status.HTTP_201_CREATED, response_model=MePublic)
def signup(body: SignupIn, response: Response, session: SessionDep, context: ContextDep) -> MePublic:
    """Create the first owner and their organisation. Only possible while no user exists (else 403)."""
    if service.user_count(session) > 0:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "sign-up is closed: ask an admin of your organisation")
    try:
        org = service.create_organization(session, body.organization)
        user = service.create_user(
            session, email=body.email, password=body.password, org_id=org.id, role=Role.owner, name=body.name
        )
    except service.AccountError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    token = service.start_session(session, user_id=user.id, org_id=org.id, days=context.settings.session_days)
    _set_session_cookie(response, token, context)
    return _me(session, user.id, org.id, Role.owner)


@auth_router.post("/login", response_model=MePublic)
def login(body: LoginIn, response: Response, session: SessionDep, context: ContextDep) -> MePublic:
    """Log in with e-mail and password; sets an HTTP-only session cookie."""
    found = service.authenticate_user(session, body.email, body.password)
    if found is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong e-mail or password")
    user, membership = found
    token = service.start_session(
        session, user_id=user.id, org_id=membership.org_id, days=context.settings.session_days
    )
    _set_session_cookie(response, token, context)
    return _me(session, user.id, membership.org_id, membership.role)


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, session: SessionDep) -> Response:
    """End the session and clear its cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.end_session(session, token)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.status_code = status.HTTP_204_NO_CONTENT
    return response


@router.get("/me", response_model=MePublic)
def me(caller: UserCaller, session: SessionDep) -> MePublic:
    """The logged-in user, their organisation and role."""
    assert caller.user_id is not None and caller.role is not None
    return _me(session, caller.user_id, caller.org_id, caller.role)


@router.get("/organization", response_model=OrganizationPublic)
def get_organization(caller: ReadCaller, session: SessionDep) -> Organization:
    """The caller's organisation and its settings."""
    org = session.get(Organization, caller.org_id)
    assert org is not None
    return org


@router.patch("/organization", response_model=OrganizationPublic)
def update_organization(
    body: OrganizationUpdate, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> Organization:
    """Change settings: time zone, display currency (and optional fixed rate), markup and fees, impact."""
    org = session.get(Organization, caller.org_id)
    assert org is not None
    changes = body.model_dump(exclude_unset=True)
    if "currency" in changes and changes["currency"] is not None:
        try:
            convert_currency(1.0, changes["currency"], date.today())
        except ValueError as exc:
            raise RequestValidationError(
                [{"loc": ["body", "currency"], "msg": str(exc), "type": "value_error"}]
            ) from exc
    zone = changes.get("electricity_zone")
    if zone is not None and zone not in electricity_zones():
        raise RequestValidationError(
            [
                {
                    "loc": ["body", "electricity_zone"],
                    "msg": f"unknown electricity zone {zone!r}: use an ISO 3166-1 alpha-3 code (e.g. FRA)",
                    "type": "value_error",
                }
            ]
        )
    for name, value in changes.items():
        if value is None and name in {"name", "timezone", "currency", "markup_percent", "m2_per_kg_co2e"}:
            continue
        setattr(org, name, list(value) if name == "fee_percents" else value)
    actor = service.actor_name(caller.user_id, caller.api_key_id)
    service.audit(session, org.id, actor, "organization.update", org.id, changes)
    session.commit()
    context.org_pricing.invalidate(org.id)
    context.budgets.changed(org.id, rebuild=True)  # time zone and currency shape budget periods
    return org


@router.get("/projects", response_model=list[ProjectPublic])
def list_projects(caller: ReadCaller, session: SessionDep) -> list[Project]:
    """The organisation's projects (a project key sees only its own)."""
    query = select(Project).where(Project.org_id == caller.org_id).order_by(Project.name)
    if caller.project_restriction is not None:
        query = query.where(Project.id == caller.project_restriction)
    return list(session.scalars(query))


def _key_public(key: ApiKey, project: Project) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        project_id=project.id,
        project=project.name,
        scopes=key.scopes.split(","),
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


@router.get("/api-keys", response_model=list[ApiKeyPublic])
def list_keys(caller: AdminCaller, session: SessionDep) -> list[ApiKeyPublic]:
    """The organisation's API keys (never their secrets)."""
    return [_key_public(key, project) for key, project in service.list_api_keys(session, caller.org_id)]


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
def create_key(body: ApiKeyCreate, caller: AdminCaller, session: SessionDep) -> ApiKeyCreated:
    """Create a key for a project (created when new). The secret is in this answer only."""
    key, project, secret = service.create_api_key(
        session,
        org_id=caller.org_id,
        project_name=body.project,
        scopes=list(body.scopes),
        name=body.name,
        created_by=caller.user_id,
    )
    return ApiKeyCreated(**_key_public(key, project).model_dump(), key=secret)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyPublic)
def revoke_key(key_id: str, caller: AdminCaller, session: SessionDep, context: ContextDep) -> ApiKeyPublic:
    """Revoke a key at once; its requests are refused from now on (404 for another org's key)."""
    try:
        key = service.revoke_api_key(session, caller.org_id, key_id)
    except service.AccountError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    context.key_cache.forget(key.id)
    project = session.get(Project, key.project_id)
    assert project is not None
    return _key_public(key, project)
