/**
 * `wrap(new OpenAI())`: record every call of an OpenAI client, unchanged for its caller.
 *
 * The client's own `create` methods (chat.completions, responses, embeddings, completions) are
 * replaced, on that instance only, by functions that call the original with the same arguments
 * and observe its result:
 * - the result is still the SDK's `APIPromise` (derived with its `_thenUnwrap`, as the SDK's own
 *   helpers do), so `.withResponse()`, `.asResponse()`, `_request_id` and the helpers built on
 *   `create` (`parse`, `stream`, `runTools`) behave as before;
 * - errors reach the caller as the very same object (same class), after being recorded;
 * - streams are the SDK's own `Stream`: only the function producing its iterator is wrapped, so
 *   chunks pass through as they arrive, `tee()` and `toReadableStream()` keep working.
 * Nothing in the request is changed: a stream records its usage only when the caller asked for it
 * (`stream_options: { include_usage: true }`), else its tokens are estimated (see `call.ts`).
 *
 * A non-streamed call is recorded when its result is read (awaited); one whose result is never
 * read, or read only through `.asResponse()`, is recorded only if it fails.
 */

import { Call, type Endpoint } from "./call.js";
import { recorder } from "./global.js";
import { describeError } from "./log.js";

/** Options of `wrap()`. */
export interface WrapOptions {
  /**
   * The provider recorded for the client's calls: "openai" by default, "azure" for
   * `AzureOpenAI`; set it for OpenAI-compatible APIs ("groq", "openrouter", "mistral", …).
   */
  provider?: string;
}

const ORIGINAL = Symbol.for("tokenoptimizer.original");

const ENDPOINTS: readonly { path: readonly string[]; endpoint: Endpoint }[] = [
  { path: ["chat", "completions"], endpoint: { path: "/chat/completions", api: "chat", requestType: "chat" } },
  { path: ["responses"], endpoint: { path: "/responses", api: "responses", requestType: "chat" } },
  { path: ["embeddings"], endpoint: { path: "/embeddings", api: "embeddings", requestType: "embedding" } },
  { path: ["completions"], endpoint: { path: "/completions", api: "completions", requestType: "completion" } },
];

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

interface APIPromiseLike {
  asResponse(): Promise<unknown>;
  _thenUnwrap(transform: (data: unknown) => unknown): unknown;
}

interface StreamLike {
  iterator: (this: unknown) => AsyncIterator<unknown>;
}

function isAPIPromise(value: unknown): value is APIPromiseLike {
  const v = value as Partial<APIPromiseLike> | null;
  return typeof v?.asResponse === "function" && typeof v._thenUnwrap === "function";
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

function detectProvider(client: object): string {
  const name = (client as { constructor?: { name?: unknown } }).constructor?.name;
  return name === "AzureOpenAI" ? "azure" : "openai";
}

/**
 * Record the calls of `client` (an `OpenAI` or `AzureOpenAI` instance) and return it: the same
 * object, with the same type and behaviour. Wrapping twice is harmless. Never throws.
 *
 * ```ts
 * const openai = wrap(new OpenAI());
 * ```
 */
export function wrap<T extends object>(client: T, options: WrapOptions = {}): T {
  try {
    const provider = options.provider ?? detectProvider(client);
    let patched = 0;
    for (const { path, endpoint } of ENDPOINTS) {
      let owner: unknown = client;
      for (const key of path) owner = (owner as Record<string, unknown> | undefined)?.[key];
      if (
        typeof owner === "object" &&
        owner !== null &&
        patchCreate(owner as Record<string, unknown>, endpoint, provider)
      ) {
        patched += 1;
      }
    }
    if (patched === 0 && !isWrapped(client)) {
      recorder().log.once(
        "not-a-client",
        "wrap() was given an object without chat/responses/embeddings: nothing to record",
      );
    }
  } catch (error) {
    recorder().log.once("wrap-failed", `could not wrap the client: ${describeError(error)}`);
  }
  return client;
}

function isWrapped(client: object): boolean {
  const create = (client as { chat?: { completions?: { create?: unknown } } }).chat?.completions?.create;
  return typeof create === "function" && ORIGINAL in create;
}

function patchCreate(owner: Record<string, unknown>, endpoint: Endpoint, provider: string): boolean {
  const original = owner.create;
  if (typeof original !== "function" || ORIGINAL in original) return false;
  const create = function (this: unknown, ...args: unknown[]): unknown {
    const call = startCall(endpoint, provider, args[0]);
    const result = (original as AnyFunction).apply(this, args);
    return call ? observe(result, call) : result;
  };
  Object.defineProperty(create, ORIGINAL, { value: original });
  Object.defineProperty(create, "name", { value: (original as AnyFunction).name });
  owner.create = create;
  return true;
}

function startCall(endpoint: Endpoint, provider: string, body: unknown): Call | undefined {
  try {
    const rec = recorder();
    if (!rec.enabled) return undefined;
    return new Call(
      endpoint,
      provider,
      typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {},
    );
  } catch (error) {
    recorder().log.once("observe-failed", `could not observe a call: ${describeError(error)}`);
    return undefined;
  }
}

/** Observe `result` without changing what the caller gets. */
function observe(result: unknown, call: Call): unknown {
  try {
    if (isAPIPromise(result)) {
      // The failure is seen on the raw response promise, which does not start parsing the body.
      result.asResponse().then(undefined, (error: unknown) => call.fail(error));
      return result._thenUnwrap((data) => completed(data, call));
    }
    if (isThenable(result)) {
      // Not the SDK's APIPromise (an unknown version): watch it from the side, return it as is.
      result.then(
        (data) => completed(data, call),
        (error: unknown) => call.fail(error),
      );
    }
  } catch (error) {
    recorder().log.once("observe-failed", `could not observe a call: ${describeError(error)}`);
  }
  return result;
}

function completed(data: unknown, call: Call): unknown {
  try {
    if (call.isStream && typeof (data as Partial<StreamLike> | null)?.iterator === "function") {
      observeStream(data as StreamLike, call);
    } else {
      call.response(data);
    }
  } catch (error) {
    recorder().log.once("observe-failed", `could not observe a call: ${describeError(error)}`);
  }
  return data;
}

/** Wrap the function that makes the stream's iterator; iteration, tee() and toReadableStream() use it. */
function observeStream(stream: StreamLike, call: Call): void {
  const makeIterator = stream.iterator;
  stream.iterator = function (this: unknown) {
    return observeChunks(makeIterator.call(this), call);
  };
}

async function* observeChunks(source: AsyncIterator<unknown>, call: Call): AsyncGenerator<unknown, unknown> {
  let ended = false;
  try {
    for (;;) {
      const next = await source.next();
      if (next.done) {
        ended = true;
        call.streamEnded();
        return next.value;
      }
      call.chunk(next.value);
      yield next.value;
    }
  } catch (error) {
    ended = true;
    call.fail(error);
    throw error;
  } finally {
    if (!ended) {
      // The consumer stopped early (break, return): let the SDK abort the HTTP request.
      call.streamEnded();
      await source.return?.();
    }
  }
}
