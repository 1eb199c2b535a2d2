/**
 * The recorder: settings, attribution defaults and the sender of one configuration.
 *
 * One recorder is current per process. It is created on first use from the environment
 * (`TOKENOPTIMIZER_API_KEY`, `TOKENOPTIMIZER_BASE_URL`) and replaced by `configure()`, so a
 * client wrapped at import time records with whatever configuration is current when it calls.
 */

import { currentContext, mergeAttribution, type Attribution } from "./context.js";
import { toWireEvent, type TrackInput, type WireEvent } from "./event.js";
import { consoleLogger, describeError, OnceLogger, type Logger } from "./log.js";
import { Sender, type SenderStats } from "./sender.js";
import { VERSION } from "./version.js";

export const DEFAULT_BASE_URL = "http://127.0.0.1:8000";

/** Options of `configure()`; every one is optional. */
export interface ConfigureOptions {
  /** An ingest key (`tko_…`); default: `TOKENOPTIMIZER_API_KEY`. The key decides the project. */
  apiKey?: string;
  /** The TokenOptimizer server; default: `TOKENOPTIMIZER_BASE_URL`, else http://127.0.0.1:8000. */
  baseUrl?: string;
  /**
   * Project name (default: `TOKENOPTIMIZER_PROJECT`). Events always belong to the API key's
   * project; the Python SDK scopes its budget pre-checks with it, which this SDK does not do yet.
   */
  project?: string;
  /** The feature of calls made outside any `withContext({ feature })` (default: `TOKENOPTIMIZER_FEATURE`). */
  defaultFeature?: string;
  /** Tags added to every event (context tags win). */
  defaultTags?: Record<string, string>;
  /** false: record nothing (default true). */
  enabled?: boolean;
  /** Events per request (default 200; the server takes up to 10,000). */
  batchSize?: number;
  /** Longest wait before queued events are sent, in ms (default 1000). */
  flushIntervalMs?: number;
  /** Events kept in memory while the server is unreachable; the oldest are dropped past it (default 10,000). */
  maxQueueSize?: number;
  /** Longest wait between two retries, in ms (default 30,000). */
  maxRetryDelayMs?: number;
  /** Timeout of one request to the server, in ms (default 10,000). */
  requestTimeoutMs?: number;
  /** How long the `beforeExit` flush may hold the process open, in ms (default 5,000). */
  exitFlushTimeoutMs?: number;
  /** Gzip request bodies of 1 KiB and more (default true; plain JSON for a server without gzip). */
  gzip?: boolean;
  /** Where warnings go (default `console.warn`); each kind of problem is logged once. */
  logger?: Logger;
}

/** What `flush()` achieved. */
export interface FlushResult {
  /** true when every queued event reached the server. */
  delivered: boolean;
  /** Events still waiting (the server was unreachable until the timeout). */
  pending: number;
}

export type Stats = SenderStats;

export class Recorder {
  readonly enabled: boolean;
  readonly log: OnceLogger;
  readonly exitFlushTimeoutMs: number;
  readonly project: string | undefined;
  private readonly defaults: Attribution;
  private readonly apiKey: string | undefined;
  private readonly sender: Sender;
  private recorded = 0;
  private exitFlushedAt = -1;

  constructor(options: ConfigureOptions = {}) {
    const env = process.env;
    this.log = new OnceLogger(options.logger ?? consoleLogger);
    this.enabled = options.enabled ?? true;
    this.project = options.project ?? (env.TOKENOPTIMIZER_PROJECT || undefined);
    this.exitFlushTimeoutMs = positive(options.exitFlushTimeoutMs, 5_000);
    this.defaults = {
      feature: options.defaultFeature ?? (env.TOKENOPTIMIZER_FEATURE || undefined),
      tags: { ...options.defaultTags },
    };
    this.apiKey = options.apiKey ?? (env.TOKENOPTIMIZER_API_KEY || undefined);
    this.sender = new Sender({
      apiKey: this.apiKey,
      baseUrl: options.baseUrl ?? (env.TOKENOPTIMIZER_BASE_URL || DEFAULT_BASE_URL),
      batchSize: Math.min(positive(options.batchSize, 200), 10_000),
      flushIntervalMs: positive(options.flushIntervalMs, 1_000),
      maxQueueSize: positive(options.maxQueueSize, 10_000),
      maxRetryDelayMs: positive(options.maxRetryDelayMs, 30_000),
      requestTimeoutMs: positive(options.requestTimeoutMs, 10_000),
      gzip: options.gzip ?? true,
      userAgent: `tokenoptimizer-node/${VERSION} node/${process.versions.node}`,
      log: this.log,
    });
  }

  /**
   * Queue one event with the current attribution; returns its id (undefined when disabled).
   * Never throws: a problem is logged once and the event is skipped.
   */
  record(input: TrackInput, attribution: Attribution = currentContext()): string | undefined {
    if (!this.enabled) return undefined;
    try {
      const merged = mergeAttribution(mergeAttribution(this.defaults, attribution), input);
      const event = toWireEvent({ ...input, ...merged });
      this.enqueue(event);
      return event.event_id;
    } catch (error) {
      this.log.once("record-failed", `could not record a call: ${describeError(error)}`);
      return undefined;
    }
  }

  enqueue(event: WireEvent): void {
    if (!this.apiKey) {
      this.log.once(
        "no-api-key",
        "no API key: set TOKENOPTIMIZER_API_KEY or call configure({ apiKey }); usage is kept in memory until then",
      );
    }
    this.recorded += 1;
    this.sender.enqueue(event);
  }

  async flush(timeoutMs = 30_000): Promise<FlushResult> {
    const delivered = await this.sender.flush(timeoutMs);
    return { delivered, pending: this.sender.pending() };
  }

  async close(timeoutMs = 30_000): Promise<FlushResult> {
    const delivered = await this.sender.close(timeoutMs);
    return { delivered, pending: this.sender.pending() };
  }

  get hasApiKey(): boolean {
    return this.apiKey !== undefined;
  }

  stats(): Stats {
    return this.sender.stats();
  }

  /** Hand the events that were never sent to the recorder that replaces this one. */
  takeUnsent(): WireEvent[] {
    return this.sender.takeUnsent();
  }

  /** Called on `beforeExit`: one flush per batch of new events, so a down server cannot loop. */
  flushBeforeExit(): void {
    if (this.sender.pending() === 0 || this.exitFlushedAt === this.recorded) return;
    this.exitFlushedAt = this.recorded;
    void this.flush(this.exitFlushTimeoutMs).then(({ delivered, pending }) => {
      if (!delivered) {
        this.log.once("exit-undelivered", `${pending} usage event(s) could not be sent before the process exited`);
      }
    });
  }
}

function positive(value: number | undefined, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : fallback;
}
