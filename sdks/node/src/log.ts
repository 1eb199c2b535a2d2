/**
 * The SDK's own problems are reported, never thrown: each kind of problem is logged at most once
 * per recorder, so a server that stays down cannot flood the application's logs.
 */

/** Where the SDK writes its warnings (default: `console.warn`). */
export interface Logger {
  warn(message: string): void;
}

export const consoleLogger: Logger = {
  warn: (message) => console.warn(message),
};

export class OnceLogger {
  private readonly seen = new Set<string>();

  constructor(private readonly logger: Logger) {}

  /** Log `message` unless a message of this `kind` was logged before. */
  once(kind: string, message: string): void {
    if (this.seen.has(kind)) return;
    this.seen.add(kind);
    try {
      this.logger.warn(`[tokenoptimizer] ${message}`);
    } catch {
      // A broken logger must not break the caller either.
    }
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
