// What the wrapper adds to a call: wrapped vs unwrapped latency of the same OpenAI client calls
// against the local fake upstream (test/helpers/fake-openai.ts), with the SDK sending its events
// to a local sink that answers like the ingest API. Run: `npm run bench` (compiles first).
// Rounds alternate wrapped and unwrapped blocks so that drift (JIT, GC, CPU) hits both alike.

import http from "node:http";
import { performance } from "node:perf_hooks";

import OpenAI from "openai";

import { configure, flush, stats, wrap } from "./.test-build/src/index.js";
import { startFakeOpenAI } from "./.test-build/test/helpers/fake-openai.js";

const ROUNDS = Number(process.env.ROUNDS ?? 20);
const BLOCK = Number(process.env.BLOCK ?? 50);

let requests = 0;
const sink = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    requests += 1;
    const accepted = JSON.parse(Buffer.concat(chunks).toString("utf8")).events.length;
    res.writeHead(202, { "content-type": "application/json" });
    res.end(JSON.stringify({ accepted, duplicates: 0 }));
  });
});
await new Promise((resolve) => sink.listen(0, "127.0.0.1", resolve));
const fake = await startFakeOpenAI();
fake.setStreamTiming(0, 0);
configure({ apiKey: "tko_bench", baseUrl: `http://127.0.0.1:${sink.address().port}`, gzip: false });

const options = { apiKey: "sk-fake", baseURL: fake.baseURL, maxRetries: 0 };
const plain = new OpenAI(options);
const wrapped = wrap(new OpenAI(options));
const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello" }] };

const calls = {
  "chat, non-stream": (client) => client.chat.completions.create(body),
  "chat, stream": async (client) => {
    const stream = await client.chat.completions.create({
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) void chunk;
  },
};

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

console.log(`${ROUNDS} rounds x ${BLOCK} calls per client and kind (node ${process.versions.node})`);
for (const [name, call] of Object.entries(calls)) {
  for (let i = 0; i < 50; i += 1) (await call(plain), await call(wrapped)); // warm-up
  const times = { plain: [], wrapped: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [label, client] of round % 2
      ? [
          ["wrapped", wrapped],
          ["plain", plain],
        ]
      : [
          ["plain", plain],
          ["wrapped", wrapped],
        ]) {
      for (let i = 0; i < BLOCK; i += 1) {
        const started = performance.now();
        await call(client);
        times[label].push(performance.now() - started);
      }
    }
  }
  const p = {};
  for (const label of ["plain", "wrapped"]) {
    const sorted = times[label].sort((a, b) => a - b);
    p[label] = { p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95) };
  }
  console.log(
    `${name.padEnd(18)} unwrapped p50 ${p.plain.p50.toFixed(3)} ms, p95 ${p.plain.p95.toFixed(3)} ms | ` +
      `wrapped p50 ${p.wrapped.p50.toFixed(3)} ms, p95 ${p.wrapped.p95.toFixed(3)} ms | ` +
      `added p50 ${(p.wrapped.p50 - p.plain.p50).toFixed(3)} ms`,
  );
}
const result = await flush(10_000);
console.log(`events sent: ${stats().accepted} in ${requests} requests; delivered=${result.delivered}`);
await fake.close();
sink.close();
