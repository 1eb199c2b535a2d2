/**
 * wrap(new OpenAI()) against a real fake upstream (node:http) and a real TokenOptimizer server:
 * every call is read back from GET /api/v1/events with its exact tokens, cost, latency, status.
 */

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, beforeEach, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import OpenAI, { APIError, InternalServerError, RateLimitError } from "openai";

import { configure, flush, shutdown, track, VERSION, withContext, wrap, type ConfigureOptions } from "../src/index.js";
import {
  CHAT_USAGE,
  EMBEDDINGS_USAGE,
  RATE_LIMITED,
  RESPONSES_USAGE,
  SERVER_ERROR,
  startFakeOpenAI,
  WORDS,
  type FakeOpenAI,
} from "./helpers/fake-openai.js";
import { PACKAGE_DIR, startServer, type LiveServer, type StoredEvent } from "./helpers/server.js";

let server: LiveServer;
let fake: FakeOpenAI;
let run: string;
let warnings: string[];

const MESSAGES = [{ role: "user" as const, content: "Say hello" }];
const CHAT = { model: "gpt-4o-mini", messages: MESSAGES };

before(async () => {
  [server, fake] = await Promise.all([startServer(), startFakeOpenAI()]);
});

after(async () => {
  await shutdown(5_000);
  await fake.close();
  await server.close();
});

beforeEach(() => {
  setUp();
  fake.setStreamTiming(0, 2);
});

/** A fresh configuration whose events carry a tag unique to the test. */
function setUp(options: ConfigureOptions = {}): void {
  run = randomUUID();
  warnings = [];
  configure({
    apiKey: server.key,
    baseUrl: server.url,
    flushIntervalMs: 20,
    logger: { warn: (message) => warnings.push(message) },
    ...options,
    defaultTags: { test: run, ...options.defaultTags },
  });
}

function openai(options: ConstructorParameters<typeof OpenAI>[0] = {}): OpenAI {
  return new OpenAI({ apiKey: "sk-fake", baseURL: fake.baseURL, maxRetries: 0, ...options });
}

/** Flush, then read back this test's events (oldest first), checking how many there are. */
async function recorded(count: number): Promise<StoredEvent[]> {
  const result = await flush(10_000);
  assert.deepEqual(result, { delivered: true, pending: 0 });
  const events = await server.events(`tag.test=${run}`);
  assert.equal(events.length, count, JSON.stringify(events, null, 1));
  assert.deepEqual(warnings, []);
  return events;
}

async function caught(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  assert.fail("expected an error");
}

test("wrap returns the same client, typed as the client, and the package version matches", () => {
  const client = openai();
  const wrapped: OpenAI = wrap(client);
  assert.equal(wrapped, client);
  assert.equal(wrap(wrapped), client, "wrapping twice is harmless");
  const pkg = JSON.parse(readFileSync(path.join(PACKAGE_DIR, "package.json"), "utf8")) as { version: string };
  assert.equal(VERSION, pkg.version);
});

test("a chat completion is stored with its exact tokens, a catalogue price, latency", async () => {
  const client = wrap(openai());
  const { data, request_id } = await client.chat.completions.create(CHAT).withResponse();
  assert.equal(data.choices[0]?.message.content, WORDS.join(""));
  assert.match(request_id ?? "", /^req_fake_/);
  assert.deepEqual(fake.requests.at(-1), { path: "/v1/chat/completions", body: CHAT }, "the request is not altered");

  const [event] = await recorded(1);
  assert.ok(event);
  assert.equal(event.provider, "openai");
  assert.equal(event.model, "gpt-4o-mini-2024-07-18");
  assert.equal(event.requested_model, "gpt-4o-mini");
  assert.equal(event.endpoint, "/chat/completions");
  assert.equal(event.request_type, "chat");
  assert.equal(event.status, "ok");
  assert.equal(event.input_tokens, CHAT_USAGE.prompt_tokens);
  assert.equal(event.output_tokens, CHAT_USAGE.completion_tokens);
  assert.equal(event.cache_read_tokens, CHAT_USAGE.prompt_tokens_details.cached_tokens);
  assert.ok(event.cost_usd > 0, `cost ${event.cost_usd}`);
  assert.notEqual(event.price_source, "unknown");
  assert.ok(event.latency_ms !== null && event.latency_ms > 0);
  assert.equal(event.time_to_first_token_ms, null);
  assert.deepEqual(event.tags, { test: run });
});

test("a stream passes its chunks through as they arrive and is stored with its usage and TTFT", async () => {
  fake.setStreamTiming(60, 25);
  const client = wrap(openai());
  const body = { ...CHAT, stream: true as const, stream_options: { include_usage: true } };
  const started = performance.now();
  const stream = await client.chat.completions.create(body);
  let text = "";
  const arrivals: number[] = [];
  for await (const chunk of stream) {
    const content = chunk.choices[0]?.delta.content;
    if (content) {
      text += content;
      arrivals.push(performance.now() - started);
    }
  }
  const total = performance.now() - started;
  assert.equal(text, WORDS.join(""));
  assert.deepEqual(fake.requests.at(-1)?.body, body, "the request is not altered");
  // The first word reached the caller long before the stream ended: nothing was buffered.
  assert.ok(arrivals[0]! >= 55 && arrivals[0]! < total - 50, `first word at ${arrivals[0]} ms of ${total} ms`);

  const [event] = await recorded(1);
  assert.ok(event);
  assert.equal(event.input_tokens, CHAT_USAGE.prompt_tokens);
  assert.equal(event.output_tokens, CHAT_USAGE.completion_tokens);
  assert.equal(event.cache_read_tokens, 10);
  assert.ok(event.cost_usd > 0);
  const ttft = event.time_to_first_token_ms ?? -1;
  assert.ok(ttft >= 55 && ttft <= arrivals[0]! + 1, `ttft ${ttft}, first word seen at ${arrivals[0]}`);
  assert.ok(event.latency_ms! >= ttft + 4 * 25 - 5 && event.latency_ms! <= total + 1, `latency ${event.latency_ms}`);
  assert.equal(event.tags["tokenoptimizer.usage"], undefined);
});

test("a stream without a usage chunk is stored with estimated tokens and flagged", async () => {
  const client = wrap(openai());
  const body = { ...CHAT, stream: true as const };
  const stream = await client.chat.completions.create(body);
  for await (const chunk of stream) void chunk;
  assert.deepEqual(fake.requests.at(-1)?.body, body, "no stream_options added to the caller's request");

  const [event] = await recorded(1);
  assert.ok(event);
  assert.equal(event.tags["tokenoptimizer.usage"], "estimated");
  assert.equal(event.input_tokens, Math.ceil("Say hello".length / 4));
  assert.equal(event.output_tokens, Math.ceil(WORDS.join("").length / 4));
  assert.ok(event.cost_usd > 0);
});

test("a stream the caller stops early is stored, with estimated tokens", async () => {
  const client = wrap(openai());
  const stream = await client.chat.completions.create({
    ...CHAT,
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta.content) break;
  }
  assert.equal(stream.controller.signal.aborted, true, "the HTTP request was aborted as without the wrapper");

  const [event] = await recorded(1);
  assert.ok(event);
  assert.equal(event.status, "ok");
  assert.equal(event.tags["tokenoptimizer.usage"], "estimated");
  assert.equal(event.output_tokens, Math.ceil(WORDS[0]!.length / 4));
});

test("responses.create, plain and streamed, and embeddings.create are stored exactly", async () => {
  fake.setStreamTiming(30, 2);
  const client = wrap(openai());
  const response = await client.responses.create({ model: "gpt-4o-mini", input: "Say hello" });
  assert.equal(response.output_text, WORDS.join(""), "the SDK's own post-processing still runs");

  let streamed = "";
  const stream = await client.responses.create({ model: "gpt-4o-mini", input: "Say hello", stream: true });
  for await (const event of stream) {
    if (event.type === "response.output_text.delta") streamed += event.delta;
  }
  assert.equal(streamed, WORDS.join(""));

  const embedding = await client.embeddings.create({ model: "text-embedding-3-small", input: "hello" });
  assert.deepEqual(embedding.data[0]?.embedding, [0.25, -0.5, 0.125], "base64 embeddings are still decoded");

  const [plain, live, vectors] = await recorded(3);
  for (const event of [plain, live]) {
    assert.ok(event);
    assert.equal(event.endpoint, "/responses");
    assert.equal(event.model, "gpt-4o-mini-2024-07-18");
    assert.equal(event.input_tokens, RESPONSES_USAGE.input_tokens);
    assert.equal(event.output_tokens, RESPONSES_USAGE.output_tokens);
    assert.equal(event.reasoning_tokens, RESPONSES_USAGE.output_tokens_details.reasoning_tokens);
    assert.ok(event.cost_usd > 0);
  }
  assert.equal(plain?.time_to_first_token_ms, null);
  assert.ok((live?.time_to_first_token_ms ?? 0) >= 25, `ttft ${live?.time_to_first_token_ms}`);
  assert.ok(vectors);
  assert.equal(vectors.request_type, "embedding");
  assert.equal(vectors.endpoint, "/embeddings");
  assert.equal(vectors.input_tokens, EMBEDDINGS_USAGE.prompt_tokens);
  assert.equal(vectors.output_tokens, 0);
  assert.ok(vectors.cost_usd > 0);
});

test("the client's helpers built on create (parse, stream) are recorded too", async () => {
  const client = wrap(openai());
  const parsed = await client.chat.completions.parse(CHAT);
  assert.equal(parsed.choices[0]?.message.content, WORDS.join(""));
  const runner = client.chat.completions.stream({ ...CHAT, stream_options: { include_usage: true } });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0]?.message.content, WORDS.join(""));
  const response = await client.responses.stream({ model: "gpt-4o-mini", input: "Say hello" }).finalResponse();
  assert.equal(response.output_text, WORDS.join(""));

  const events = await recorded(3);
  assert.deepEqual(
    events.map((e) => [e.endpoint, e.input_tokens, e.output_tokens, e.time_to_first_token_ms === null]),
    [
      ["/chat/completions", CHAT_USAGE.prompt_tokens, CHAT_USAGE.completion_tokens, true],
      ["/chat/completions", CHAT_USAGE.prompt_tokens, CHAT_USAGE.completion_tokens, false],
      ["/responses", RESPONSES_USAGE.input_tokens, RESPONSES_USAGE.output_tokens, false],
    ],
  );
});

test("an upstream 429 or 500 raises exactly the unwrapped client's error, and is stored as an error", async () => {
  const cases = [
    { failure: RATE_LIMITED, errorClass: RateLimitError, stream: false },
    { failure: SERVER_ERROR, errorClass: InternalServerError, stream: false },
    { failure: RATE_LIMITED, errorClass: RateLimitError, stream: true },
  ];
  for (const { failure, errorClass, stream } of cases) {
    const call = (client: OpenAI) => client.chat.completions.create({ ...CHAT, stream });
    fake.failNext(failure);
    const plain = (await caught(() => call(openai()))) as APIError;
    fake.failNext(failure);
    const wrapped = (await caught(() => call(wrap(openai())))) as APIError;
    assert.ok(wrapped instanceof errorClass);
    assert.equal(Object.getPrototypeOf(wrapped), Object.getPrototypeOf(plain));
    assert.equal(wrapped.status, plain.status);
    assert.equal(wrapped.message, plain.message);
    assert.equal(wrapped.code, plain.code);
  }
  const events = await recorded(3);
  assert.deepEqual(
    events.map((e) => [e.status, e.error_type, e.model, e.input_tokens, e.output_tokens]),
    [
      ["error", "RateLimitError", "gpt-4o-mini", 0, 0],
      ["error", "InternalServerError", "gpt-4o-mini", 0, 0],
      ["error", "RateLimitError", "gpt-4o-mini", 0, 0],
    ],
  );
  assert.ok(events.every((e) => e.latency_ms !== null));
});

test("an error in the middle of a stream reaches the caller unchanged and is stored with the tokens so far", async () => {
  const consume = async (client: OpenAI): Promise<string> => {
    let text = "";
    const stream = await client.chat.completions.create({ ...CHAT, stream: true });
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    return text;
  };
  fake.breakNextStreamAfter(2);
  const plain = await caught(() => consume(openai()));
  fake.breakNextStreamAfter(2);
  const wrapped = await caught(() => consume(wrap(openai())));
  assert.ok(wrapped instanceof APIError);
  assert.equal(Object.getPrototypeOf(wrapped), Object.getPrototypeOf(plain));
  assert.equal((wrapped as APIError).message, (plain as APIError).message);

  const [event] = await recorded(1);
  assert.ok(event);
  assert.equal(event.status, "error");
  assert.equal(event.error_type, "APIError");
  assert.equal(event.tags["tokenoptimizer.usage"], "estimated");
  assert.equal(event.output_tokens, Math.ceil((WORDS[0]! + WORDS[1]!).length / 4));
});

test("the client's own retries make one call, stored once", async () => {
  const client = wrap(openai({ maxRetries: 2 }));
  fake.failNext({ ...SERVER_ERROR, headers: { "retry-after-ms": "1" } }, 2);
  const before = fake.requests.length;
  const completion = await client.chat.completions.create(CHAT);
  assert.equal(completion.usage?.prompt_tokens, CHAT_USAGE.prompt_tokens);
  assert.equal(fake.requests.length - before, 3);
  const [event] = await recorded(1);
  assert.equal(event?.status, "ok");
});

test("withContext attributes calls across awaits, nested and concurrent, over the defaults", async () => {
  setUp({ defaultFeature: "background", defaultTags: { app: "checkout" } });
  const client = wrap(openai());
  await Promise.all([
    withContext({ feature: "search", user: "alice", tags: { tier: "pro" } }, async () => {
      await sleep(5);
      await client.chat.completions.create(CHAT);
      await withContext(
        { feature: "rerank", endUser: "customer-7", traceId: "trace-1", tags: { step: "2" } },
        async () => {
          await sleep(3);
          const stream = await client.chat.completions.create({ ...CHAT, stream: true });
          await sleep(3);
          for await (const chunk of stream) void chunk;
        },
      );
    }),
    withContext({ feature: "chat", user: "bob" }, async () => {
      await sleep(1);
      await client.embeddings.create({ model: "text-embedding-3-small", input: "hello" });
    }),
  ]);
  await client.chat.completions.create(CHAT);

  const events = await recorded(4);
  const byFeature = new Map(events.map((e) => [e.feature, e]));
  const pick = (e: StoredEvent | undefined) => [e?.user, e?.end_user, e?.trace_id, e?.tags];
  const base = { test: run, app: "checkout" };
  assert.deepEqual(pick(byFeature.get("search")), ["alice", null, null, { ...base, tier: "pro" }]);
  assert.deepEqual(pick(byFeature.get("rerank")), [
    "alice",
    "customer-7",
    "trace-1",
    { ...base, tier: "pro", step: "2", "tokenoptimizer.usage": "estimated" },
  ]);
  assert.deepEqual(pick(byFeature.get("chat")), ["bob", null, null, base]);
  assert.deepEqual(pick(byFeature.get("background")), [null, null, null, base]);
});

test("track() records a call by hand, raw usage or counts, with the id it returns", async () => {
  const anthropic = withContext({ feature: "manual" }, () =>
    track({
      provider: "anthropic",
      api: "messages",
      model: "claude-sonnet-4-20250514",
      rawUsage: { input_tokens: 50, cache_read_input_tokens: 1800, output_tokens: 400 },
      latencyMs: 120,
    }),
  );
  const counted = track({
    provider: "openai",
    model: "gpt-4o-mini",
    inputTokens: 1200,
    outputTokens: 300,
    user: "carol",
  });
  const events = await recorded(2);
  assert.deepEqual(events.map((e) => e.event_id).sort(), [anthropic, counted].sort());
  const byId = new Map(events.map((e) => [e.event_id, e]));
  const claude = byId.get(anthropic!);
  assert.equal(claude?.feature, "manual");
  assert.equal(claude?.cache_read_tokens, 1800);
  assert.equal(claude?.output_tokens, 400);
  assert.equal(claude?.latency_ms, 120);
  assert.ok((claude?.cost_usd ?? 0) > 0);
  const mini = byId.get(counted!);
  assert.deepEqual([mini?.input_tokens, mini?.output_tokens, mini?.user], [1200, 300, "carol"]);
});
