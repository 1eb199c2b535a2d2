"""`POST /api/v1/import`: CSV and JSONL files through the one pipeline, with a report per row."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import Tenant
from tokenoptimizer.usage.import_rows import IMPORT_NAMESPACE

# USD per million tokens: gpt-4o (input, cached input, output), gpt-4o-mini (input, output).
GPT4O = (2.50, 1.25, 10.00)
GPT4O_MINI = (0.15, 0.60)

CSV = (
    "timestamp,llm_model,vendor,prompt_tokens,completion_tokens,cached,user_email,env,note\r\n"
    "2025-03-01T10:00:00Z,gpt-4o,openai,1000,200,400,ann@x.example,prod,hello\r\n"
    '2025-03-01 11:00:00,gpt-4o-mini,,2000,100,0,bob@x.example,dev,"a note\r\non two lines"\r\n'
    "2025-03-01T12:00:00Z,gpt-4o,openai,abc,10,0,ann@x.example,prod,bad tokens\r\n"
    "2025-03-01T13:00:00Z,,openai,10,10,0,ann@x.example,prod,no model\r\n"
    "yesterday,gpt-4o,openai,10,10,0,ann@x.example,prod,bad time\r\n"
    "2025-03-01T14:00:00Z,gpt-4o,openai,100,10,500,ann@x.example,prod,cache above input\r\n"
    "2025-03-01T15:00:00Z,gpt-4o,openai,1,2\r\n"
)
MAPPING = [
    "model=llm_model",
    "provider=vendor",
    "cache_read_tokens=cached",
    "user=user_email",
    "tag.env=env",
]
EXPECTED_REJECTS = [
    {"line": 5, "field": "input_tokens", "message": "'abc' is not a whole number"},
    {"line": 6, "field": "model", "message": "missing: add a model column or map one (--map model=COLUMN)"},
    {
        "line": 7,
        "field": "ts",
        "message": "'yesterday' is not a time: use ISO 8601 (2025-03-01T12:00:00Z) or a Unix epoch",
    },
    {
        "line": 8,
        "field": "cache_read_tokens",
        "message": "cache_read_tokens + cache_write_tokens cannot exceed input_tokens",
    },
    {"line": 9, "field": None, "message": "the row has 5 values but the header has 9 columns"},
]


async def post_csv(
    client: httpx.AsyncClient, tenant: Tenant, body: str | bytes = CSV, **params: Any
) -> httpx.Response:
    query: dict[str, Any] = {"map": MAPPING, "provider": "openai", **params}
    return await client.post(
        "/api/v1/import",
        content=body.encode() if isinstance(body, str) else body,
        params=query,
        headers={**tenant.headers(), "Content-Type": "text/csv"},
    )


async def stored(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/events", params={"order": "asc"}, headers=tenant.headers())
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_csv_rows_are_mapped_priced_and_bad_rows_named(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await post_csv(client, tenant)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report == {
        "dry_run": False,
        "rows": 7,
        "accepted": 2,
        "duplicates": 0,
        "rejected_count": 5,
        "rejected": EXPECTED_REJECTS,
        "ignored_columns": ["note"],
        "cost_usd": None,
        "unpriced_models": [],
    }
    first, second = await stored(client, tenant)
    assert (first["model"], first["provider"], first["user"], first["tags"]) == (
        "gpt-4o",
        "openai",
        "ann@x.example",
        {"env": "prod"},
    )
    assert first["ts"].startswith("2025-03-01T10:00:00")
    assert (first["input_tokens"], first["output_tokens"], first["cache_read_tokens"]) == (1000, 200, 400)
    assert first["cost_usd"] == pytest.approx((600 * GPT4O[0] + 400 * GPT4O[1] + 200 * GPT4O[2]) / 1e6)
    assert first["source"] == "import" and first["project_id"] == tenant.project_id
    # No vendor on the row: --provider applies. No offset on the time: UTC.
    assert (second["model"], second["provider"]) == ("gpt-4o-mini", "openai")
    assert second["ts"].startswith("2025-03-01T11:00:00")
    assert second["cost_usd"] == pytest.approx((2000 * GPT4O_MINI[0] + 100 * GPT4O_MINI[1]) / 1e6)


async def test_costs_are_the_rest_ingest_costs(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    assert (await post_csv(client, tenant)).status_code == 200
    imported = await stored(client, tenant)
    rest = [
        {k: e[k] for k in ("provider", "model", "ts", "input_tokens", "output_tokens", "cache_read_tokens")}
        for e in imported
    ]
    response = await client.post("/api/v1/events", json={"events": rest}, headers=other_tenant.headers())
    assert response.status_code == 202, response.text
    for mine, theirs in zip(imported, await stored(client, other_tenant), strict=True):
        for name in (
            "cost_usd",
            "cost_input_usd",
            "cost_cache_read_usd",
            "cost_output_usd",
            "billed_cost_usd",
        ):
            assert mine[name] == pytest.approx(theirs[name])


async def test_re_running_an_import_stores_nothing_twice(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert (await post_csv(client, tenant)).json()["accepted"] == 2
    again = (await post_csv(client, tenant)).json()
    assert (again["accepted"], again["duplicates"], again["rejected_count"]) == (0, 2, 5)
    # Same rows with the columns in another order and another --provider: still the same events.
    reordered = "llm_model,timestamp,prompt_tokens,completion_tokens,cached,vendor,user_email,env\n"
    reordered += "gpt-4o,2025-03-01T10:00:00Z,1000,200,400,openai,ann@x.example,prod\n"
    third = (await post_csv(client, tenant, reordered, provider="anthropic")).json()
    assert (third["accepted"], third["duplicates"]) == (0, 1)
    assert len(await stored(client, tenant)) == 2


async def test_dry_run_prices_and_stores_nothing(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = CSV + "2025-03-02T09:00:00Z,our-own-llm,selfhosted,50,5,0,ann@x.example,prod,\r\n"
    response = await post_csv(client, tenant, body, dry_run="true")
    report = response.json()
    assert report["dry_run"] is True
    assert (report["accepted"], report["rejected_count"]) == (3, 5)
    first = (600 * GPT4O[0] + 400 * GPT4O[1] + 200 * GPT4O[2]) / 1e6
    second = (2000 * GPT4O_MINI[0] + 100 * GPT4O_MINI[1]) / 1e6
    assert report["cost_usd"] == pytest.approx(first + second)
    assert report["unpriced_models"] == ["selfhosted/our-own-llm"]
    assert await stored(client, tenant) == []


async def test_jsonl_upload_as_a_form_with_nested_fields_and_ids(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    rows = [
        {
            "id": "req-1",
            "created": 1740823200,
            "model": "gpt-4o",
            "usage": {"prompt_tokens": 10, "completion_tokens": 5},
        },
        {
            "id": "req-2",
            "created": 1740823200000,
            "model": "gpt-4o",
            "usage": {"prompt_tokens": 20},
            "tags": {"team": "web"},
        },
        {"id": str(uuid.UUID(int=7)), "created": "2025-03-01T10:00:00+02:00", "model": "gpt-4o"},
        [1, 2],
    ]
    body = b"\n".join(orjson.dumps(row) for row in rows) + b"\n\n{not json\n"
    form = {
        "map": ["ts=created", "input_tokens=usage.prompt_tokens", "output_tokens=usage.completion_tokens"],
        "provider": "openai",
    }
    response = await client.post(
        "/api/v1/import",
        files={"file": ("usage.jsonl", body, "application/octet-stream")},
        data=form,
        headers=tenant.headers(),
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["accepted"], report["rejected_count"]) == (3, 2)
    assert report["rejected"][0] == {"line": 4, "field": None, "message": "each line must be one JSON object"}
    assert report["rejected"][1]["line"] == 6 and report["rejected"][1]["message"].startswith(
        "not valid JSON"
    )
    events = {e["event_id"]: e for e in await stored(client, tenant)}
    first = events[str(uuid.uuid5(IMPORT_NAMESPACE, "id:req-1"))]
    assert (first["input_tokens"], first["output_tokens"]) == (10, 5)
    assert first["ts"].startswith("2025-03-01T10:00:00")  # epoch seconds
    second = events[str(uuid.uuid5(IMPORT_NAMESPACE, "id:req-2"))]
    assert second["ts"].startswith("2025-03-01T10:00:00") and second["tags"] == {"team": "web"}  # epoch ms
    assert events[str(uuid.UUID(int=7))]["ts"].startswith("2025-03-01T08:00:00")

    # The id decides: the same ids with other content are duplicates.
    changed = b"\n".join(orjson.dumps({**row, "model": "gpt-4o-mini"}) for row in rows[:2])
    again = await client.post(
        "/api/v1/import",
        files={"file": ("usage.jsonl", changed)},
        data=form,
        headers=tenant.headers(),
    )
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 2)


async def test_tenants_are_walled_off(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    assert (await post_csv(client, tenant)).json()["accepted"] == 2
    assert await stored(client, other_tenant) == []
    # The same file in another organisation: its own events, not duplicates of Acme's.
    assert (await post_csv(client, other_tenant)).json()["accepted"] == 2
    assert {e["org_id"] for e in await stored(client, other_tenant)} == {other_tenant.org_id}
    assert len(await stored(client, tenant)) == 2


async def test_requests_that_cannot_be_imported(client: httpx.AsyncClient, tenant: Tenant) -> None:
    url = "/api/v1/import"
    csv_type = {"Content-Type": "text/csv"}
    assert (await client.post(url, content=CSV, headers=csv_type)).status_code == 401
    read_only = await client.post(url, content=CSV, headers={**tenant.headers(tenant.read_key), **csv_type})
    assert read_only.status_code == 403

    unknown_field = await client.post(
        url, content=CSV, params={"map": "tokens=prompt_tokens"}, headers={**tenant.headers(), **csv_type}
    )
    assert unknown_field.status_code == 422
    [error] = unknown_field.json()["detail"]
    assert error["loc"] == ["query", "map"] and "'tokens' is not an event field" in error["msg"]

    missing_column = await client.post(
        url, content=CSV, params={"map": "model=engine"}, headers={**tenant.headers(), **csv_type}
    )
    assert missing_column.status_code == 422
    assert "'engine' (for model)" in missing_column.json()["detail"][0]["msg"]

    no_format = await client.post(url, content=CSV, headers=tenant.headers())
    assert no_format.status_code == 422
    assert no_format.json()["detail"][0]["loc"] == ["query", "format"]

    latin1 = await client.post(
        url, content="model\ncafé\n".encode("latin-1"), headers={**tenant.headers(), **csv_type}
    )
    assert latin1.status_code == 422 and "not UTF-8" in latin1.json()["detail"][0]["msg"]

    empty = await client.post(url, content=b"", headers={**tenant.headers(), **csv_type})
    assert empty.status_code == 422 and "empty" in empty.json()["detail"][0]["msg"]

    no_file = await client.post(
        url, data={"provider": "openai"}, files={"other": ("x", b"1")}, headers=tenant.headers()
    )
    assert no_file.status_code == 422 and no_file.json()["detail"][0]["loc"] == ["body", "file"]

    huge = b"x" * (32 * 1024 * 1024 + 1)
    too_big = await client.post(url, content=huge, headers={**tenant.headers(), **csv_type})
    assert too_big.status_code == 413 and "tokenoptimizer import" in too_big.json()["detail"]
    assert await stored(client, tenant) == []
