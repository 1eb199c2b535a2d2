/**
 * A real TokenOptimizer server for the tests: `tokenoptimizer serve` from the repository's Python
 * virtualenv (`make setup` creates it; `make test` runs setup first), on a free port of 127.0.0.1,
 * with a throwaway data directory and a project key with the ingest and read scopes.
 * Set TOKENOPTIMIZER_BIN to use another `tokenoptimizer` executable.
 */

import { spawn, execFile, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, closeSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** sdks/node, from .test-build/test/helpers/. */
export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const REPO_ROOT = path.resolve(PACKAGE_DIR, "../..");
export const BIN = process.env.TOKENOPTIMIZER_BIN ?? path.join(REPO_ROOT, ".venv", "bin", "tokenoptimizer");

/** A stored event as `GET /api/v1/events` returns it (the fields the tests read). */
export interface StoredEvent {
  event_id: string;
  ts: string;
  provider: string;
  model: string;
  requested_model: string | null;
  endpoint: string | null;
  request_type: string;
  status: string;
  error_type: string | null;
  user: string | null;
  end_user: string | null;
  team: string | null;
  feature: string | null;
  tags: Record<string, string>;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  reasoning_tokens: number;
  latency_ms: number | null;
  time_to_first_token_ms: number | null;
  cost_usd: number;
  price_source: string;
  trace_id: string | null;
}

export interface LiveServer {
  url: string;
  key: string;
  /** Stop the server (its data stays). */
  stop(): Promise<void>;
  /** Start it again on the same port and data. */
  start(): Promise<void>;
  /** Stored events matching the query (e.g. `tag.test=abc`), oldest first. */
  events(query: string): Promise<StoredEvent[]>;
  /** Stop and delete the data directory. */
  close(): Promise<void>;
}

function serverEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("TOKENOPTIMIZER_")) env[key] = value;
  }
  env.TOKENOPTIMIZER_DATA_DIR = dataDir;
  env.TOKENOPTIMIZER_SECRET_KEY = `node-sdk-tests-${"x".repeat(40)}`;
  return env;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export async function startServer(): Promise<LiveServer> {
  if (!existsSync(BIN)) {
    throw new Error(`${BIN} is missing: run \`make setup\` at the repository root (or set TOKENOPTIMIZER_BIN)`);
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), "tko-node-sdk-"));
  const env = serverEnv(dataDir);
  const created = await run(BIN, ["keys", "create", "--project", "node-sdk", "--scopes", "ingest,read"], {
    env,
    timeout: 60_000,
  });
  const key = created.stdout.trim().split("\n").at(-1)?.trim() ?? "";
  if (!key.startsWith("tko_")) throw new Error(`could not create a key:\n${created.stdout}\n${created.stderr}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logPath = path.join(dataDir, "server.log");
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const log = openSync(logPath, "a");
    child = spawn(BIN, ["serve", "--host", "127.0.0.1", "--port", String(port)], { env, stdio: ["ignore", log, log] });
    closeSync(log);
    const started = child;
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const response = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(1_000) });
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (started.exitCode !== null || Date.now() > deadline) {
        throw new Error(`tokenoptimizer serve did not start:\n${readFileSync(logPath, "utf8")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    running.kill("SIGTERM");
    const timer = setTimeout(() => running.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(timer);
  }

  async function events(query: string): Promise<StoredEvent[]> {
    const response = await fetch(`${url}/api/v1/events?limit=1000&order=asc&${query}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    if (!response.ok) throw new Error(`GET /api/v1/events: ${response.status} ${await response.text()}`);
    const page = (await response.json()) as { items: StoredEvent[] };
    return page.items;
  }

  await start();
  return {
    url,
    key,
    start,
    stop,
    events,
    close: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
