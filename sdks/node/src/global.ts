/**
 * The process-wide recorder behind `configure`, `track`, `flush`, `shutdown` and `stats`, and the
 * `beforeExit` hook that sends what is left when the event loop runs dry.
 */

import type { TrackInput } from "./event.js";
import { Recorder, type ConfigureOptions, type FlushResult, type Stats } from "./recorder.js";

let current: Recorder | undefined;
const closing = new Set<Recorder>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // `beforeExit` fires when nothing else keeps the loop alive (not on process.exit() or signals:
  // call `await flush()` there). The flush holds the loop open again, until done or timed out.
  process.on("beforeExit", () => current?.flushBeforeExit());
}

/** The current recorder, created from the environment on first use. */
export function recorder(): Recorder {
  if (!current) {
    current = new Recorder();
    installExitHook();
  }
  return current;
}

/**
 * Set up recording; call it once at start-up (environment variables fill what is not given).
 * Calling it again replaces the configuration: the previous one sends what it has queued in the
 * background, except events queued while it had no API key, which move to the new one.
 */
export function configure(options: ConfigureOptions = {}): void {
  const previous = current;
  current = new Recorder(options);
  installExitHook();
  if (!previous) return;
  if (previous.stats().pending > 0 && !previous.hasApiKey) {
    for (const event of previous.takeUnsent()) current.enqueue(event);
  }
  closing.add(previous);
  void previous.close(previous.exitFlushTimeoutMs).finally(() => closing.delete(previous));
}

/**
 * Record one LLM call by hand (a provider without a wrapper, a batch job's usage file, …).
 * Returns the event id, or undefined when recording is disabled. Never throws.
 */
export function track(input: TrackInput): string | undefined {
  return recorder().record(input);
}

/**
 * Send every queued event now; resolves when all reached the server or after `timeoutMs`
 * (default 30 s). Never rejects. Call it before `process.exit()` or in a serverless handler.
 */
export async function flush(timeoutMs = 30_000): Promise<FlushResult> {
  await Promise.all([...closing].map((r) => r.flush(timeoutMs)));
  return current ? current.flush(timeoutMs) : { delivered: true, pending: 0 };
}

/** Flush, then stop: later calls start a fresh recorder from the environment. */
export async function shutdown(timeoutMs = 30_000): Promise<FlushResult> {
  const last = current;
  current = undefined;
  await Promise.all([...closing].map((r) => r.flush(timeoutMs)));
  return last ? last.close(timeoutMs) : { delivered: true, pending: 0 };
}

/** Counters of the current recorder: pending, accepted, duplicates, dropped, rejected, retries. */
export function stats(): Stats {
  return recorder().stats();
}
