import httpx

from tests.conftest import Tenant


async def test_signup_creates_first_owner_then_closes(client: httpx.AsyncClient) -> None:
    body = {"email": "Ada@Example.com", "password": "long enough pw", "organization": "Analytical"}
    response = await client.post("/api/v1/auth/signup", json=body)
    assert response.status_code == 201
    me = response.json()
    assert me["user"]["email"] == "ada@example.com"
    assert me["organization"]["name"] == "Analytical"
    assert me["role"] == "owner"
    cookie = response.headers["set-cookie"]
    assert "tko_session=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()

    again = await client.post("/api/v1/auth/signup", json={**body, "email": "eve@example.com"})
    assert again.status_code == 403


async def test_signup_validates_fields(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/signup", json={"email": "not-an-email", "password": "short"})
    assert response.status_code == 422
    fields = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert ("body", "email") in fields and ("body", "password") in fields


async def test_login_me_logout(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert (await client.get("/api/v1/me")).status_code == 401
    wrong = await client.post("/api/v1/auth/login", json={"email": tenant.email, "password": "nope"})
    assert wrong.status_code == 401

    ok = await client.post("/api/v1/auth/login", json={"email": tenant.email, "password": tenant.password})
    assert ok.status_code == 200
    me = await client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["organization"]["id"] == tenant.org_id

    assert (await client.post("/api/v1/auth/logout")).status_code == 204
    client.cookies.clear()
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_session_token_is_dead_after_logout_even_if_replayed(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await client.post("/api/v1/auth/login", json={"email": tenant.email, "password": tenant.password})
    token = client.cookies["tko_session"]
    await client.post("/api/v1/auth/logout")
    client.cookies.set("tko_session", token)
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_api_keys_via_api_shown_once_and_revocable(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.post("/api/v1/auth/login", json={"email": tenant.email, "password": tenant.password})
    created = await client.post("/api/v1/api-keys", json={"project": "new-proj", "scopes": ["ingest"]})
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("tko_") and len(key) > 30

    listed = (await client.get("/api/v1/api-keys")).json()
    assert all("key" not in item for item in listed)
    assert any(item["project"] == "new-proj" for item in listed)

    event = {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 10, "output_tokens": 5}
    ok = await client.post("/api/v1/events", json=event, headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 202

    revoked = await client.delete(f"/api/v1/api-keys/{created.json()['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = await client.post("/api/v1/events", json=event, headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401


async def test_key_scopes_are_enforced(client: httpx.AsyncClient, tenant: Tenant) -> None:
    event = {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 10, "output_tokens": 5}
    response = await client.post("/api/v1/events", json=event, headers=tenant.headers(tenant.read_key))
    assert response.status_code == 403
    assert "ingest" in response.json()["detail"]
    assert (await client.get("/api/v1/api-keys", headers=tenant.headers())).status_code == 403


async def test_session_endpoint_never_401s(client: httpx.AsyncClient) -> None:
    fresh = await client.get("/api/v1/auth/session")
    assert fresh.status_code == 200 and fresh.json() == {"user": None, "signup_open": True}
    body = {"email": "ada@example.com", "password": "long enough pw"}
    await client.post("/api/v1/auth/signup", json=body)
    logged_in = (await client.get("/api/v1/auth/session")).json()
    assert logged_in["user"]["user"]["email"] == "ada@example.com" and logged_in["signup_open"] is False
    client.cookies.clear()
    assert (await client.get("/api/v1/auth/session")).json() == {"user": None, "signup_open": False}
