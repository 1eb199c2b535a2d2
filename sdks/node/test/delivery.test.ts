/**
 * Delivery: batching, retries, idempotent re-sends, the bounded queue, gzip, refused events and
 * the exit flush, against a real TokenOptimizer server that is stopped and started again, and a
 * real proxy that fails in the ways networks do.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import OpenAI from "openai";

import { configure, flush, shutdown, stats, track, wrap, type ConfigureOptions } from "../src/index.js";
import { startFakeOpenAI, type FakeOpenAI } from "./helpers/fake-openai.js";
import { startProxy, type Proxy } from "./helpers/proxy.js";
import { freePort, PACKAGE_DIR, startServer, type LiveServer } from "./helpers/server.js";

let server: LiveServer;
let fake: FakeOpenAI;
let proxy: Proxy;

before(async () => {
  [server, fake] = await Promise.all([startServer(), startFakeOpenAI()]);
  proxy = await startProxy(server.url);
});

after(async () => {
  await shutdown(5_000);
  await proxy.close();
  await fake.close();
  await server.close();
});

/** A fresh configuration with fast retries; returns the test's tag and the warnings it logs. */
function setUp(options: ConfigureOptions = {}): { run: string; warnings: string[] } {
  const run = randomUUID();
  const warnings: string[] = [];
  configure({
    apiKey: server.key,
    baseUrl: server.url,
    flushIntervalMs: 20,
    maxRetryDelayMs: 200,
    logger: { warn: (message) => warnings.push(message) },
    ...options,
    defaultTags: { test: run },
  });
  return { run, warnings };
}

function trackMany(count: number, extra: Record<string, string> = {}): string[] {
  return Array.from({ length: count }, (_, i) =>
    track({ provider: "openai", model: "gpt-4o-mini", inputTokens: 100 + i, outputTokens: 10, tags: extra }),
  ).map((id) => id ?? assert.fail("track returned no id"));
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail("timed out waiting");
    await sleep(10);
  }
}

test("server down, then up: every event is delivered exactly once", async () => {
  const { run, warnings } = setUp();
  await server.stop();
  const client = wrap(new OpenAI({ apiKey: "sk-fake", baseURL: fake.baseURL, maxRetries: 0 }));
  for (let i = 0; i < 4; i += 1) {
    await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `hi ${i}` }] });
  }
  const ids = trackMany(6);
  await until(() => stats().retries >= 3);
  assert.deepEqual(await flush(200), { delivered: false, pending: 10 }, "flush times out while the server is down");

  await server.start();
  assert.deepEqual(await flush(15_000), { delivered: true, pending: 0 });
  const events = await server.events(`tag.test=${run}`);
  assert.equal(events.length, 10);
  assert.equal(new Set(events.map((e) => e.event_id)).size, 10);
  for (const id of ids) assert.ok(events.some((e) => e.event_id === id));
  const counters = stats();
  assert.equal(counters.accepted, 10);
  assert.equal(counters.duplicates, 0);
  assert.equal(counters.dropped, 0);
  const sendWarnings = warnings.filter((w) => w.includes("could not send"));
  assert.equal(sendWarnings.length, 1, `logged once for ${counters.retries} failed attempts: ${warnings}`);
});

test("an answer lost after the server stored the batch: the re-send is counted once", async () => {
  const { run } = setUp({ baseUrl: proxy.url, gzip: false });
  proxy.cutAnswers(1);
  const ids = trackMany(5);
  assert.deepEqual(await flush(10_000), { delivered: true, pending: 0 });
  const counters = stats();
  assert.equal(counters.retries, 1);
  assert.equal(counters.accepted, 0, "the first attempt's answer never arrived");
  assert.equal(counters.duplicates, 5, "the server recognised the re-sent event ids");
  const events = await server.events(`tag.test=${run}`);
  assert.deepEqual(events.map((e) => e.event_id).sort(), [...ids].sort());
});

test("503 with Retry-After, then up: retried with backoff, nothing lost", async () => {
  const { run } = setUp({ baseUrl: proxy.url });
  const before = proxy.seen.length;
  proxy.mode = "unavailable";
  trackMany(3);
  await until(() => stats().retries >= 2);
  proxy.mode = "forward";
  assert.deepEqual(await flush(10_000), { delivered: true, pending: 0 });
  assert.equal((await server.events(`tag.test=${run}`)).length, 3);
  const attempts = proxy.seen.slice(before);
  assert.ok(attempts.length >= 3 && attempts.at(-1)?.status === 202, JSON.stringify(attempts));
});

test("the queue is bounded: past its size the oldest events are dropped and counted", async () => {
  const { run, warnings } = setUp({ baseUrl: proxy.url, maxQueueSize: 5, batchSize: 100 });
  proxy.mode = "unavailable";
  const ids = trackMany(8);
  assert.equal(stats().dropped, 3);
  assert.equal(stats().pending, 5);
  await until(() => stats().retries >= 1);
  proxy.mode = "forward";
  assert.deepEqual(await flush(10_000), { delivered: true, pending: 0 });
  const events = await server.events(`tag.test=${run}`);
  assert.deepEqual(events.map((e) => e.event_id).sort(), ids.slice(3).sort(), "the newest five are kept");
  assert.equal(warnings.filter((w) => w.includes("queue is full")).length, 1);
});

test("batches go out by size and by time, gzipped from 1 KiB (plain JSON for a server without gzip)", async () => {
  const { run, warnings } = setUp({ baseUrl: proxy.url, batchSize: 25, flushIntervalMs: 400 });
  const before = proxy.seen.length;
  trackMany(60);
  assert.deepEqual(await flush(10_000), { delivered: true, pending: 0 });
  const requests = proxy.seen.slice(before);
  const first = requests[0];
  assert.ok(first);
  assert.equal(first.contentEncoding, "gzip", "a 25-event batch is gzipped");
  if (first.status === 422) {
    // This server does not read gzip: the batch was sent again as JSON, and so were the next.
    assert.equal(requests[1]?.contentEncoding, undefined);
  }
  assert.deepEqual(warnings, []);
  const stored = requests.filter((r) => r.status === 202);
  assert.equal(stored.length, 3, "60 events in batches of 25: 25 + 25 + 10");
  assert.equal((await server.events(`tag.test=${run}`)).length, 60);

  // Without a flush: a full batch leaves at once, the rest waits for the interval, then leaves together.
  const quiet = proxy.seen.length;
  trackMany(30);
  await until(() => proxy.seen.length === quiet + 1 && stats().pending === 5);
  await sleep(60);
  assert.equal(proxy.seen.length, quiet + 1, "the last 5 wait for the interval");
  await until(() => stats().pending === 0);
  assert.equal(proxy.seen.length, quiet + 2, "25 + 5 events, two requests");
  assert.equal((await server.events(`tag.test=${run}`)).length, 90);
});

test("an event the server refuses is dropped; the rest of its batch is delivered", async () => {
  const { run, warnings } = setUp();
  const good = trackMany(2);
  track({ provider: "openai", model: "gpt-4o-mini", api: "chat", rawUsage: { completion_tokens: 3 } });
  good.push(...trackMany(1));
  assert.deepEqual(await flush(10_000), { delivered: true, pending: 0 });
  const events = await server.events(`tag.test=${run}`);
  assert.deepEqual(events.map((e) => e.event_id).sort(), good.sort());
  assert.equal(stats().rejected, 1);
  assert.ok(
    warnings.some((w) => w.includes("raw_usage")),
    warnings.join("\n"),
  );
});

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runChild(env: Record<string, string>): Promise<ChildResult> {
  const script = path.join(PACKAGE_DIR, ".test-build", "test", "fixtures", "exit-child.js");
  const started = performance.now();
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    child.on("exit", (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

test("a program that just ends sends its queue on beforeExit, configured from the environment", async () => {
  const run = randomUUID();
  const result = await runChild({
    TOKENOPTIMIZER_API_KEY: server.key,
    TOKENOPTIMIZER_BASE_URL: server.url,
    TOKENOPTIMIZER_FEATURE: "nightly-job",
    FAKE_URL: fake.baseURL,
    RUN: run,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), "main done");
  assert.equal(result.stderr, "");
  const events = await server.events(`tag.test=${run}`);
  assert.equal(events.length, 3);
  assert.deepEqual(
    events.map((e) => e.input_tokens).sort((a, b) => a - b),
    [10, 20, 42],
  );
  assert.ok(events.every((e) => e.feature === "nightly-job"));
});

test("with the server unreachable, a program still exits promptly and says what it could not send", async () => {
  const result = await runChild({
    TOKENOPTIMIZER_API_KEY: server.key,
    TOKENOPTIMIZER_BASE_URL: `http://127.0.0.1:${await freePort()}`,
    FAKE_URL: fake.baseURL,
    RUN: randomUUID(),
    EXIT_FLUSH_MS: "300",
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /3 usage event\(s\) could not be sent before the process exited/);
  assert.ok(result.ms < 5_000, `exited after ${Math.round(result.ms)} ms`);
});
