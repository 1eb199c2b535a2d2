/**
 * Sending events: an in-memory queue drained in the background, in batches, by one sender.
 *
 * - Batches go out when `batchSize` events are waiting or `flushIntervalMs` after the first one
 *   (one request at a time; events arriving meanwhile join the next batch).
 * - Bodies of 1 KiB and more are gzipped; a server that does not accept gzip is detected from its
 *   answer and then sent plain JSON.
 * - Network errors, timeouts, 408, 429 and 5xx are retried with exponential backoff and jitter
 *   (a server's Retry-After is honoured), for as long as the process lives: events keep their
 *   `event_id`, so a retry of a batch that was in fact stored is counted once by the server.
 * - Refused events (422) are dropped one by one, the rest of their batch is sent again.
 * - The queue is bounded: past `maxQueueSize` the oldest events are dropped and counted.
 * - Nothing here keeps the process alive: timers and sockets are `unref()`ed. `flush()` holds the
 *   process open until the queue is empty or its deadline passes; `beforeExit` calls it.
 */

import http from "node:http";
import https from "node:https";
import { promisify } from "node:util";
import { gzip as gzipCallback } from "node:zlib";

import type { WireEvent } from "./event.js";
import { describeError, type OnceLogger } from "./log.js";

const gzip = promisify(gzipCallback);
const GZIP_MIN_BYTES = 1024;
const RETRY_BASE_MS = 250;

export interface SenderOptions {
  apiKey: string | undefined;
  baseUrl: string;
  batchSize: number;
  flushIntervalMs: number;
  maxQueueSize: number;
  maxRetryDelayMs: number;
  requestTimeoutMs: number;
  gzip: boolean;
  userAgent: string;
  log: OnceLogger;
}

/** Counters of what the sender did since it started. */
export interface SenderStats {
  /** Events waiting to be sent (in flight included). */
  pending: number;
  /** Events the server stored. */
  accepted: number;
  /** Events the server already had (a retry of a batch it had stored): not counted twice. */
  duplicates: number;
  /** Events dropped because the queue was full. */
  dropped: number;
  /** Events the server refused (invalid, or the API key was refused). */
  rejected: number;
  /** Requests that failed and were retried. */
  retries: number;
}

type Outcome =
  { kind: "sent" } | { kind: "retry"; afterMs?: number; reason: string } | { kind: "requeue"; events: WireEvent[] };

interface HttpAnswer {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

export class Sender {
  private readonly queue: WireEvent[] = [];
  private inFlight: WireEvent[] = [];
  private readonly url: URL;
  private readonly agent: http.Agent;
  private batchSize: number;
  private gzipBodies: boolean;
  private pumping: Promise<void> | null = null;
  private kickPending = false;
  private timer: NodeJS.Timeout | null = null;
  private sleepTimer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private holders = 0;
  private failures = 0;
  private closed = false;
  private readonly counters = { accepted: 0, duplicates: 0, dropped: 0, rejected: 0, retries: 0 };

  constructor(private readonly options: SenderOptions) {
    this.url = new URL("api/v1/events", options.baseUrl.endsWith("/") ? options.baseUrl : `${options.baseUrl}/`);
    const Agent = this.url.protocol === "https:" ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 2 });
    this.batchSize = options.batchSize;
    this.gzipBodies = options.gzip;
  }

  stats(): SenderStats {
    return { pending: this.pending(), ...this.counters };
  }

  pending(): number {
    return this.queue.length + this.inFlight.length;
  }

  /** Queue one event; sending happens later, off the caller's path. */
  enqueue(event: WireEvent): void {
    this.queue.push(event);
    this.enforceBound();
    if (this.queue.length >= this.batchSize) this.kick();
    else this.arm();
  }

  /** Take the events that were never sent (for a recorder that replaces this one). */
  takeUnsent(): WireEvent[] {
    return this.queue.splice(0, this.queue.length);
  }

  /**
   * Send everything queued, waiting at most `timeoutMs`. Resolves to true when nothing is left;
   * never rejects.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    if (this.pending() === 0) return true;
    if (!this.options.apiKey || this.closed) return false;
    this.holders += 1;
    this.sleepTimer?.ref();
    this.wake?.(); // a flush is a reason to try again now rather than after the backoff
    let deadline: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      deadline = setTimeout(resolve, Math.max(0, timeoutMs));
    });
    let timedOut = false;
    void expired.then(() => {
      timedOut = true;
    });
    try {
      while (this.pending() > 0 && !timedOut && !this.closed) {
        await Promise.race([this.start(), expired]);
      }
      return this.pending() === 0;
    } finally {
      clearTimeout(deadline);
      this.holders -= 1;
      if (this.holders === 0) this.sleepTimer?.unref();
    }
  }

  /** Flush, then stop sending; events still queued after `timeoutMs` are given up. */
  async close(timeoutMs: number): Promise<boolean> {
    const done = await this.flush(timeoutMs);
    this.closed = true;
    this.wake?.();
    if (this.timer) clearTimeout(this.timer);
    this.agent.destroy();
    return done;
  }

  private enforceBound(): void {
    const excess = this.queue.length + this.inFlight.length - this.options.maxQueueSize;
    if (excess <= 0) return;
    const removed = Math.min(excess, this.queue.length);
    this.queue.splice(0, removed);
    this.counters.dropped += removed;
    this.options.log.once(
      "queue-full",
      `the event queue is full (${this.options.maxQueueSize} events): dropping the oldest events ` +
        "(see stats().dropped). Is the TokenOptimizer server reachable?",
    );
  }

  /** Start a send soon (next turn of the event loop), without holding the process open. */
  private kick(): void {
    if (this.pumping || this.kickPending || this.closed) return;
    this.kickPending = true;
    setImmediate(() => {
      this.kickPending = false;
      void this.start();
    }).unref();
  }

  /** Send after `flushIntervalMs`, unless something sends earlier. */
  private arm(): void {
    if (this.timer || this.pumping || this.closed || !this.options.apiKey) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.start();
    }, this.options.flushIntervalMs);
    this.timer.unref();
  }

  private start(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.pumping) {
      this.pumping = this.pump().finally(() => {
        this.pumping = null;
        if (this.queue.length > 0) this.arm();
      });
    }
    return this.pumping;
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      if (!this.options.apiKey) {
        this.options.log.once(
          "no-api-key",
          "no API key: set TOKENOPTIMIZER_API_KEY or call configure({ apiKey }); usage is kept in memory until then",
        );
        return;
      }
      const batch = this.queue.splice(0, this.batchSize);
      this.inFlight = batch;
      let outcome: Outcome;
      try {
        outcome = await this.send(batch);
      } catch (error) {
        outcome = { kind: "retry", reason: describeError(error) };
      }
      this.inFlight = [];
      if (outcome.kind === "sent") {
        this.failures = 0;
        // Keep going only with full batches (or when flushing): a trickle waits for the interval,
        // so a steady flow of calls makes a few large requests rather than many small ones.
        if (this.queue.length < this.batchSize && this.holders === 0) break;
      } else if (outcome.kind === "requeue") {
        this.queue.unshift(...outcome.events);
      } else {
        this.queue.unshift(...batch);
        this.enforceBound();
        this.failures += 1;
        this.counters.retries += 1;
        this.options.log.once(
          "send-failed",
          `could not send usage to ${this.url.origin} (${outcome.reason}); retrying in the background`,
        );
        await this.sleep(Math.max(outcome.afterMs ?? 0, this.backoff()));
      }
    }
  }

  /** Exponential backoff with "equal jitter": between half and all of the capped delay. */
  private backoff(): number {
    const cap = Math.min(this.options.maxRetryDelayMs, RETRY_BASE_MS * 2 ** Math.min(this.failures - 1, 20));
    return cap / 2 + Math.random() * (cap / 2);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        if (this.sleepTimer) clearTimeout(this.sleepTimer);
        this.sleepTimer = null;
        this.wake = null;
        resolve();
      };
      this.wake = done;
      this.sleepTimer = setTimeout(done, ms);
      if (this.holders === 0) this.sleepTimer.unref();
    });
  }

  private async send(batch: WireEvent[]): Promise<Outcome> {
    const json = Buffer.from(JSON.stringify({ events: batch }));
    const gzipped = this.gzipBodies && json.length >= GZIP_MIN_BYTES;
    const answer = await this.post(gzipped ? await gzip(json) : json, gzipped);
    const { status } = answer;
    if (status >= 200 && status < 300) {
      this.countStored(answer.body, batch.length);
      return { kind: "sent" };
    }
    if (gzipped && refusedGzip(answer)) {
      this.gzipBodies = false; // an older server: plain JSON from now on (nothing was stored)
      return { kind: "requeue", events: batch };
    }
    if (status === 413 && batch.length > 1) {
      this.batchSize = Math.max(1, Math.floor(batch.length / 2));
      return { kind: "requeue", events: batch };
    }
    if (status === 408 || status === 429 || status >= 500) {
      return { kind: "retry", afterMs: retryAfterMs(answer.retryAfter), reason: `HTTP ${status}` };
    }
    if (status === 422) return this.dropInvalid(batch, answer.body);
    this.counters.rejected += batch.length;
    const hint = status === 401 || status === 403 ? ": check the API key and its 'ingest' scope" : "";
    this.options.log.once(`http-${status}`, `the server refused ${batch.length} events (HTTP ${status})${hint}`);
    return { kind: "sent" };
  }

  private countStored(body: string, size: number): void {
    try {
      const result = JSON.parse(body) as { accepted?: unknown; duplicates?: unknown };
      if (typeof result.accepted === "number" && typeof result.duplicates === "number") {
        this.counters.accepted += result.accepted;
        this.counters.duplicates += result.duplicates;
        return;
      }
    } catch {
      // fall through: a 2xx without the expected body still means stored
    }
    this.counters.accepted += size;
  }

  /** Drop the events the server named as invalid and send the others again. */
  private dropInvalid(batch: WireEvent[], body: string): Outcome {
    const invalid = new Set<number>();
    let first = "";
    try {
      const detail = (JSON.parse(body) as { detail?: unknown }).detail;
      if (Array.isArray(detail)) {
        for (const error of detail as { loc?: unknown[]; msg?: unknown }[]) {
          const index = error.loc?.[2];
          if (error.loc?.[1] === "events" && typeof index === "number" && index < batch.length) {
            invalid.add(index);
            first ||= `${String(error.loc.slice(3).join("."))}: ${String(error.msg)}`;
          }
        }
      }
    } catch {
      // not the expected error body: drop the whole batch below
    }
    const dropAll = invalid.size === 0;
    const kept = dropAll ? [] : batch.filter((_, index) => !invalid.has(index));
    const refused = batch.length - kept.length;
    this.counters.rejected += refused;
    this.options.log.once(
      "invalid-events",
      `the server refused ${refused} invalid event(s)${first ? ` (${first})` : ""}; they are dropped`,
    );
    return kept.length > 0 ? { kind: "requeue", events: kept } : { kind: "sent" };
  }

  private post(body: Buffer, gzipped: boolean): Promise<HttpAnswer> {
    const transport = this.url.protocol === "https:" ? https : http;
    const headers: http.OutgoingHttpHeaders = {
      authorization: `Bearer ${this.options.apiKey ?? ""}`,
      "content-type": "application/json",
      "content-length": body.length,
      "user-agent": this.options.userAgent,
    };
    if (gzipped) headers["content-encoding"] = "gzip";
    return new Promise((resolve, reject) => {
      const request = transport.request(
        this.url,
        { method: "POST", agent: this.agent, headers, timeout: this.options.requestTimeoutMs },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const retryAfter = response.headers["retry-after"];
            resolve({
              status: response.statusCode ?? 0,
              retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
              body: Buffer.concat(chunks).toString("utf8"),
            });
          });
        },
      );
      // An in-flight send must not keep the process alive: flush() holds it open when asked to.
      request.on("socket", (socket) => socket.unref());
      request.on("timeout", () => request.destroy(new Error(`no answer in ${this.options.requestTimeoutMs} ms`)));
      request.on("error", reject);
      request.end(body);
    });
  }
}

/** A server without gzip support answers 415, or 422 "invalid JSON" about the body as a whole. */
function refusedGzip(answer: HttpAnswer): boolean {
  if (answer.status === 415) return true;
  if (answer.status !== 422) return false;
  try {
    const detail = (JSON.parse(answer.body) as { detail?: unknown }).detail;
    return (
      Array.isArray(detail) &&
      detail.some((e: { loc?: unknown[]; type?: unknown }) => e.loc?.length === 1 && e.type === "json_invalid")
    );
  } catch {
    return false;
  }
}

function retryAfterMs(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.min(seconds * 1000, 60_000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(0, at - Date.now()), 60_000);
}
