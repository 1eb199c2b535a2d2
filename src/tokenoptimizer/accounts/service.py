"""Accounts logic: organisations, projects, users, API keys and sessions. No HTTP here.

API key checks sit on the ingest hot path, so verified keys are cached in memory for a few seconds
(`KeyCache`); revoking a key drops it from this process's cache at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tokenoptimizer.accounts.models import (
    ApiKey,
    AuditEntry,
    Membership,
    Organization,
    Project,
    Role,
    User,
    UserSession,
)
from tokenoptimizer.accounts.security import (
    display_prefix,
    hash_password,
    hash_token,
    new_api_key,
    new_session_token,
    verify_password,
)
from tokenoptimizer.db.base import utcnow

DEFAULT_ORG_NAME = "Default"
LAST_USED_RESOLUTION = timedelta(minutes=1)


class AccountError(ValueError):
    """A request about accounts that cannot be done (the message says why)."""


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    """What a verified API key may do, and for whom."""

    api_key_id: str
    org_id: str
    project_id: str
    scopes: frozenset[str]


def audit(
    session: Session, org_id: str, actor: str, action: str, target: str, details: dict[str, Any]
) -> None:
    """Append an entry to the organisation's audit log."""
    session.add(AuditEntry(org_id=org_id, actor=actor, action=action, target=target, details=details))


def actor_name(user_id: str | None, api_key_id: str | None) -> str:
    """How the audit log names who acted."""
    return f"user:{user_id}" if user_id else f"api_key:{api_key_id}"


# -- organisations and projects ------------------------------------------------------------------


def create_organization(
    session: Session, name: str, *, timezone: str = "UTC", currency: str = "USD"
) -> Organization:
    """Create an organisation; its name must be unique."""
    if session.scalar(select(Organization).where(Organization.name == name)) is not None:
        raise AccountError(f"an organisation named {name!r} already exists")
    org = Organization(name=name, timezone=timezone, currency=currency)
    session.add(org)
    session.flush()
    return org


def resolve_organization(session: Session, name: str | None) -> Organization:
    """The named organisation; without a name, the only one (created as "Default" when none exists)."""
    if name is not None:
        org = session.scalar(select(Organization).where(Organization.name == name))
        if org is None:
            raise AccountError(f"no organisation named {name!r}")
        return org
    orgs = list(session.scalars(select(Organization).limit(2)))
    if not orgs:
        return create_organization(session, DEFAULT_ORG_NAME)
    if len(orgs) > 1:
        raise AccountError("there are several organisations: name one with --org")
    return orgs[0]


def get_or_create_project(session: Session, org_id: str, name: str) -> Project:
    """The organisation's project of that name, created when missing."""
    project = session.scalar(select(Project).where(Project.org_id == org_id, Project.name == name))
    if project is None:
        project = Project(org_id=org_id, name=name)
        session.add(project)
        session.flush()
    return project


# -- users and sessions --------------------------------------------------------------------------


def user_count(session: Session) -> int:
    """How many users exist (sign-up is open only while there are none)."""
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def create_user(
    session: Session, *, email: str, password: str, org_id: str, role: Role, name: str = ""
) -> User:
    """Create a user with a role in an organisation; emails are unique (case-insensitive)."""
    email = email.strip().lower()
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise AccountError(f"a user with e-mail {email} already exists")
    if len(password) < 8:
        raise AccountError("the password must have at least 8 characters")
    user = User(email=email, name=name, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    session.add(Membership(org_id=org_id, user_id=user.id, role=role))
    session.flush()
    return user


def authenticate_user(session: Session, email: str, password: str) -> tuple[User, Membership] | None:
    """The user and their (first) membership when the credentials are right, else None."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        return None
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user.id).order_by(Membership.created_at)
    )
    if membership is None:
        return None
    return user, membership


def start_session(session: Session, *, user_id: str, org_id: str, days: int) -> str:
    """Open a login session and return its token (for the cookie)."""
    token = new_session_token()
    session.add(
        UserSession(
            user_id=user_id,
            org_id=org_id,
            token_hash=hash_token(token),
            expires_at=utcnow() + timedelta(days=days),
        )
    )
    return token


def end_session(session: Session, token: str) -> None:
    """Close a login session (logout)."""
    row = session.scalar(select(UserSession).where(UserSession.token_hash == hash_token(token)))
    if row is not None:
        session.delete(row)


def session_user(session: Session, token: str) -> tuple[User, Membership] | None:
    """The user and membership of a valid session token, else None."""
    row = session.scalar(select(UserSession).where(UserSession.token_hash == hash_token(token)))
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    membership = session.scalar(
        select(Membership).where(Membership.user_id == row.user_id, Membership.org_id == row.org_id)
    )
    if user is None or not user.is_active or membership is None:
        return None
    return user, membership


# -- API keys ------------------------------------------------------------------------------------


def create_api_key(
    session: Session,
    *,
    org_id: str,
    project_name: str,
    scopes: list[str],
    name: str = "",
    created_by: str | None = None,
) -> tuple[ApiKey, Project, str]:
    """Create a key for a project (created if needed); returns the row, the project and the secret."""
    unknown = set(scopes) - {"ingest", "read", "admin"}
    if unknown or not scopes:
        raise AccountError(f"scopes must be among ingest, read, admin (got {', '.join(scopes) or 'none'})")
    project = get_or_create_project(session, org_id, project_name)
    secret = new_api_key()
    key = ApiKey(
        org_id=org_id,
        project_id=project.id,
        name=name,
        prefix=display_prefix(secret),
        key_hash=hash_token(secret),
        scopes=",".join(sorted(set(scopes))),
        created_by=created_by,
    )
    session.add(key)
    session.flush()
    return key, project, secret


def list_api_keys(session: Session, org_id: str) -> list[tuple[ApiKey, Project]]:
    """The organisation's keys, newest first, with their projects."""
    rows = session.execute(
        select(ApiKey, Project)
        .join(Project, Project.id == ApiKey.project_id)
        .where(ApiKey.org_id == org_id)
        .order_by(ApiKey.created_at.desc())
    )
    return [(key, project) for key, project in rows]


def revoke_api_key(session: Session, org_id: str, key_id_or_prefix: str) -> ApiKey:
    """Revoke one of the organisation's keys, named by id or by its shown prefix."""
    key = session.scalar(
        select(ApiKey).where(
            ApiKey.org_id == org_id, (ApiKey.id == key_id_or_prefix) | (ApiKey.prefix == key_id_or_prefix)
        )
    )
    if key is None:
        raise AccountError(f"no API key {key_id_or_prefix!r} in this organisation")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def verify_api_key(session: Session, secret: str) -> KeyIdentity | None:
    """The identity of a valid, unrevoked key, else None; records when it was last used."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_token(secret)))
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return KeyIdentity(
        api_key_id=key.id,
        org_id=key.org_id,
        project_id=key.project_id,
        scopes=frozenset(key.scopes.split(",")),
    )


class KeyCache:
    """Verified keys remembered for `ttl` seconds, so the hot path rarely asks the database.

    When an entry expires, `get` answers None to the first caller to notice, which asks the
    database and `put`s (or `drop`s) the answer; until then, for at most another `ttl`, the others
    keep getting the entry. Without this, every request in flight when a key expired asked the
    database at once: a ~150 ms stall every `ttl` seconds under load (bench/gateway.py).
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, KeyIdentity]] = {}
        self._refreshing: dict[str, float] = {}  # token hash -> when a caller went to the database
        self._lock = threading.Lock()

    def get(self, secret: str) -> KeyIdentity | None:
        """The identity of a cached key, or None: then the caller must verify it and `put` it."""
        token = hash_token(secret)
        entry = self._entries.get(token)
        if entry is None:
            return None
        expires, identity = entry
        now = time.monotonic()
        if now <= expires:
            return identity
        with self._lock:
            asked = self._refreshing.get(token)
            if asked is not None and now - asked < self.ttl and now - expires < self.ttl:
                return identity  # another caller is asking the database
            self._refreshing[token] = now
        return None

    def put(self, secret: str, identity: KeyIdentity) -> None:
        """Remember a verified key."""
        token = hash_token(secret)
        with self._lock:
            self._entries[token] = (time.monotonic() + self.ttl, identity)
            self._refreshing.pop(token, None)

    def drop(self, secret: str) -> None:
        """Forget a key the database no longer knows (or has revoked)."""
        token = hash_token(secret)
        with self._lock:
            self._entries.pop(token, None)
            self._refreshing.pop(token, None)

    def forget(self, api_key_id: str) -> None:
        """Drop a key (after revocation)."""
        with self._lock:
            for token_hash, (_, identity) in list(self._entries.items()):
                if identity.api_key_id == api_key_id:
                    del self._entries[token_hash]
