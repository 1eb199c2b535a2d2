/**
 * One observed LLM call, from the moment `create()` is called to its one usage event.
 *
 * A call ends once: with the parsed response, with the end of its stream (complete, interrupted by
 * the consumer, or failed) or with an error. The event carries the provider's raw usage object when
 * the response has one. A stream without usage (the caller did not ask for
 * `stream_options: { include_usage: true }`) or cut short is recorded with tokens estimated from
 * the text (about 4 characters per token) and the tag `tokenoptimizer.usage: "estimated"`, as the
 * Python SDK does.
 */

import { performance } from "node:perf_hooks";

import { currentContext, type Attribution } from "./context.js";
import type { RequestType, TrackInput } from "./event.js";
import { recorder } from "./global.js";

/** An OpenAI API the wrapper covers. */
export interface Endpoint {
  path: string;
  api: "chat" | "responses" | "embeddings" | "completions";
  requestType: RequestType;
}

type Json = Record<string, unknown>;

const CHARS_PER_TOKEN = 4;

/** Tag set to "estimated" when the SDK counted the tokens because the provider reported none. */
export const ESTIMATED_TAG = "tokenoptimizer.usage";

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Characters of text in a message content: a string or a list of parts with `text`. */
function contentChars(content: unknown): number {
  if (typeof content === "string") return content.length;
  if (!Array.isArray(content)) return 0;
  let total = 0;
  for (const part of content) {
    if (typeof part === "string") total += part.length;
    else if (isObject(part)) total += contentChars(part.text ?? part.content ?? part.input_text);
  }
  return total;
}

/** Characters of input text in a request body, for estimating when usage is missing. */
function inputChars(api: Endpoint["api"], body: Json): number {
  switch (api) {
    case "chat":
      return Array.isArray(body.messages)
        ? body.messages.reduce((n: number, m: unknown) => n + (isObject(m) ? contentChars(m.content) : 0), 0)
        : 0;
    case "responses": {
      const input = Array.isArray(body.input)
        ? body.input.reduce(
            (n: number, item: unknown) => n + (isObject(item) ? contentChars(item.content) : contentChars(item)),
            0,
          )
        : contentChars(body.input);
      return input + contentChars(body.instructions);
    }
    case "completions":
    case "embeddings": {
      const input = api === "completions" ? body.prompt : body.input;
      return Array.isArray(input)
        ? input.reduce((n: number, x: unknown) => n + contentChars(x), 0)
        : contentChars(input);
    }
  }
}

/** Characters of generated text in a complete (non-streamed) response. */
function outputChars(api: Endpoint["api"], data: Json): number {
  if (api === "responses") return contentChars(data.output_text);
  if (!Array.isArray(data.choices)) return 0;
  let total = 0;
  for (const choice of data.choices) {
    if (!isObject(choice)) continue;
    total += contentChars(choice.text);
    if (isObject(choice.message)) total += contentChars(choice.message.content);
  }
  return total;
}

function errorName(error: unknown): string {
  if (isObject(error)) {
    const name = (error as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === "string" && name !== "Error" && name !== "Object") return name;
    if (typeof error.name === "string") return error.name;
  }
  return "Error";
}

export class Call {
  private readonly startedAt = performance.now();
  private readonly ts = new Date();
  private readonly attribution: Attribution = currentContext();
  private readonly stream: boolean;
  private finished = false;
  private model: string | undefined;
  private usage: Json | undefined;
  private firstTokenMs: number | undefined;
  private firstChunkMs: number | undefined;
  private streamedChars = 0;
  private status: "ok" | "error" = "ok";
  private errorType: string | undefined;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly provider: string,
    private readonly body: Json,
  ) {
    this.stream = body.stream === true;
  }

  get isStream(): boolean {
    return this.stream;
  }

  /** The request failed (before or during its stream): record it as an error. */
  fail(error: unknown): void {
    if (this.finished) return;
    this.status = "error";
    this.errorType = errorName(error);
    this.finish();
  }

  /** A non-streamed response arrived, parsed. */
  response(data: unknown): void {
    if (this.finished || !isObject(data)) return;
    this.model = str(data.model);
    if (isObject(data.usage)) this.usage = data.usage;
    else this.streamedChars = outputChars(this.endpoint.api, data);
    this.finish();
  }

  /** One streamed chunk (chat, completions) or event (responses), as it passes to the caller. */
  chunk(chunk: unknown): void {
    if (this.finished || !isObject(chunk)) return;
    const now = performance.now() - this.startedAt;
    this.firstChunkMs ??= now;
    const produced = this.endpoint.api === "responses" ? this.responseEvent(chunk) : this.choiceChunk(chunk);
    if (produced > 0) {
      this.firstTokenMs ??= now;
      this.streamedChars += produced;
    }
  }

  /** The stream ended: ran to its end, or the consumer stopped early. */
  streamEnded(): void {
    if (!this.finished) this.finish();
  }

  private choiceChunk(chunk: Json): number {
    this.model = str(chunk.model) ?? this.model;
    if (isObject(chunk.usage)) this.usage = chunk.usage;
    if (!Array.isArray(chunk.choices)) return 0;
    let produced = 0;
    for (const choice of chunk.choices) {
      if (!isObject(choice)) continue;
      produced += contentChars(choice.text);
      const delta = choice.delta;
      if (!isObject(delta)) continue;
      produced += contentChars(delta.content) + contentChars(delta.refusal);
      if (Array.isArray(delta.tool_calls)) {
        for (const call of delta.tool_calls) {
          if (isObject(call) && isObject(call.function)) produced += contentChars(call.function.arguments);
        }
      }
    }
    return produced;
  }

  private responseEvent(event: Json): number {
    const response = event.response;
    if (isObject(response)) {
      this.model = str(response.model) ?? this.model;
      if (isObject(response.usage)) this.usage = response.usage;
    }
    const type = str(event.type) ?? "";
    if (type === "response.failed" || type === "error") {
      this.status = "error";
      const error = isObject(response) && isObject(response.error) ? response.error : event;
      this.errorType = str(error.code) ?? type;
    }
    return type.endsWith(".delta") ? contentChars(event.delta) : 0;
  }

  private finish(): void {
    this.finished = true;
    const requested = str(this.body.model);
    const model = this.model ?? requested ?? "unknown";
    const input: TrackInput = {
      provider: this.provider,
      model,
      requestedModel: requested !== undefined && requested !== model ? requested : undefined,
      endpoint: this.endpoint.path,
      requestType: this.endpoint.requestType,
      ts: this.ts,
      latencyMs: performance.now() - this.startedAt,
      status: this.status,
      errorType: this.errorType,
    };
    if (this.stream) input.timeToFirstTokenMs = this.firstTokenMs ?? this.firstChunkMs;
    const tags: Record<string, string> = {};
    if (this.usage) {
      input.rawUsage = this.usage;
      input.api = this.endpoint.api;
    } else if (this.status === "ok" || this.firstChunkMs !== undefined) {
      // Tokens were produced (and billed) but the response did not say how many.
      input.inputTokens = Math.ceil(inputChars(this.endpoint.api, this.body) / CHARS_PER_TOKEN);
      input.outputTokens = Math.ceil(this.streamedChars / CHARS_PER_TOKEN);
      tags[ESTIMATED_TAG] = "estimated";
    }
    const attribution = Object.keys(tags).length
      ? { ...this.attribution, tags: { ...this.attribution.tags, ...tags } }
      : this.attribution;
    recorder().record(input, attribution);
  }
}
