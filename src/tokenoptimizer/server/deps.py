"""FastAPI dependencies shared by every router: the context, a DB session and the caller.

A caller is either an API key (header `Authorization: Bearer tko_…` or `x-api-key`) or a logged-in
person (session cookie). Every route gets a `Caller` whose `org_id` scopes every query.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from tokenoptimizer.accounts.models import Role
from tokenoptimizer.accounts.security import API_KEY_PREFIX
from tokenoptimizer.accounts.service import KeyIdentity, session_user, verify_api_key
from tokenoptimizer.server.context import AppContext

SESSION_COOKIE = "tko_session"
_ROLE_RANK = {Role.viewer: 0, Role.member: 1, Role.admin: 2, Role.owner: 3}


REQUEST_THREADS = 160


async def get_context(request: Request) -> AppContext:
    """The server's long-lived parts (async: a sync dependency would cost a thread hop)."""
    _widen_thread_pool()
    context: AppContext = request.app.state.context
    return context


def _widen_thread_pool() -> None:
    """Give sync routes more threads than the database pool has connections.

    FastAPI runs a sync route in one pool thread and serialises its answer in another, while the
    route's session still holds its connection. With fewer threads (anyio's default: 40) than
    connections, every thread can end up waiting for a connection whose request waits for a
    thread: a deadlock (tested with 120 concurrent requests on PostgreSQL). The limiter belongs to
    the running event loop, hence the check here; a waiting thread costs only memory.
    """
    limiter = anyio.to_thread.current_default_thread_limiter()
    if limiter.total_tokens < REQUEST_THREADS:
        limiter.total_tokens = REQUEST_THREADS


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_session(context: ContextDep) -> AsyncIterator[Session]:
    """A metadata DB session committed at the end of the request.

    Async on purpose: the session is opened and closed on the event loop, not in the request
    thread pool. Closing in the pool needs a free thread, and under load every thread can be
    waiting for a pooled connection that only a close would return: a deadlock (tested).
    """
    session = context.db.sessionmaker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: an API key (bound to a project) or a person with a role."""

    org_id: str
    scopes: frozenset[str]
    key_project_id: str | None = None
    api_key_id: str | None = None
    user_id: str | None = None
    role: Role | None = None

    @property
    def project_restriction(self) -> str | None:
        """The only project this caller may read, or None for the whole organisation.

        A key reads only its own project unless it has the admin scope; people see the whole org.
        """
        if self.api_key_id is not None and "admin" not in self.scopes:
            return self.key_project_id
        return None

    @property
    def is_admin(self) -> bool:
        """May change the organisation's settings."""
        if self.role is not None:
            return _ROLE_RANK[self.role] >= _ROLE_RANK[Role.admin]
        return "admin" in self.scopes


def key_from_headers(headers: Mapping[str, str]) -> str | None:
    """The API key of a request (`Authorization: Bearer tko_…` or `x-api-key`), if any."""
    header = headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
        if token.startswith(API_KEY_PREFIX):
            return token
    api_key = headers.get("x-api-key")
    return api_key.strip() if api_key else None


def caller_from_key(context: AppContext, secret: str) -> Caller:
    """The caller of a valid key (cached for a few seconds), or 401."""
    return cached_caller(context, secret) or verified_caller(context, secret)


def cached_caller(context: AppContext, secret: str) -> Caller | None:
    """The caller of a cached key; None means: call `verified_caller` (it asks the database)."""
    identity = context.key_cache.get(secret)
    return None if identity is None else _key_caller(identity)


def verified_caller(context: AppContext, secret: str) -> Caller:
    """Ask the database whether the key is valid (and cache the answer), or 401."""
    with context.db.session() as session:
        identity = verify_api_key(session, secret)
    if identity is None:
        context.key_cache.drop(secret)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or revoked API key")
    context.key_cache.put(secret, identity)
    return _key_caller(identity)


def _key_caller(identity: KeyIdentity) -> Caller:
    return Caller(
        org_id=identity.org_id,
        scopes=identity.scopes,
        key_project_id=identity.project_id,
        api_key_id=identity.api_key_id,
    )


def _caller_from_cookie(context: AppContext, token: str) -> Caller | None:
    with context.db.session() as session:
        found = session_user(session, token)
        if found is None:
            return None
        user, membership = found
        role = membership.role
        scopes = {"read"} | ({"admin"} if _ROLE_RANK[role] >= _ROLE_RANK[Role.admin] else set())
        return Caller(org_id=membership.org_id, scopes=frozenset(scopes), user_id=user.id, role=role)


def authenticate(request: Request, context: AppContext) -> Caller:
    """The caller of this request, or 401."""
    secret = key_from_headers(request.headers)
    if secret is not None:
        return caller_from_key(context, secret)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        caller = _caller_from_cookie(context, token)
        if caller is not None:
            return caller
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "authentication required: send an API key (Authorization: Bearer tko_…) or log in",
        headers={"WWW-Authenticate": "Bearer"},
    )


def require(scope: str) -> Callable[[Request, AppContext], Caller]:
    """A dependency admitting callers that hold `scope` (people: read for members, admin for admins)."""

    def dependency(request: Request, context: ContextDep) -> Caller:
        caller = authenticate(request, context)
        if scope not in caller.scopes:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this credential lacks the '{scope}' scope")
        return caller

    return dependency


IngestCaller = Annotated[Caller, Depends(require("ingest"))]
ReadCaller = Annotated[Caller, Depends(require("read"))]
AdminCaller = Annotated[Caller, Depends(require("admin"))]


def current_user(request: Request, context: ContextDep) -> Caller:
    """A logged-in person (not an API key), or 401."""
    token = request.cookies.get(SESSION_COOKIE)
    caller = _caller_from_cookie(context, token) if token else None
    if caller is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not logged in")
    return caller


UserCaller = Annotated[Caller, Depends(current_user)]
