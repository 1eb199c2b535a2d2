/**
 * A fake OpenAI API: a real HTTP server (node:http) on 127.0.0.1 speaking OpenAI's wire format,
 * so the real `openai` client talks to it exactly as it talks to api.openai.com:
 * - POST /v1/chat/completions: a JSON completion, or with `stream: true` server-sent events
 *   (role chunk, content chunks, a final usage chunk when `stream_options.include_usage`, [DONE]);
 * - POST /v1/responses: a response object, or its event stream (created, deltas, completed);
 * - POST /v1/embeddings: float or base64 embeddings (the client asks for base64 by default);
 * - errors as OpenAI sends them: `{"error": {"message", "type", "param", "code"}}` with a status.
 * Token counts are fixed (below) so tests can check exact numbers end to end.
 */

import http from "node:http";
import type { AddressInfo } from "node:net";

export const SNAPSHOT: Record<string, string> = {
  "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
  "text-embedding-3-small": "text-embedding-3-small",
};

export const CHAT_USAGE = {
  prompt_tokens: 42,
  completion_tokens: 7,
  total_tokens: 49,
  prompt_tokens_details: { cached_tokens: 10, audio_tokens: 0 },
  completion_tokens_details: {
    reasoning_tokens: 0,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0,
  },
};

export const RESPONSES_USAGE = {
  input_tokens: 30,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 12,
  output_tokens_details: { reasoning_tokens: 4 },
  total_tokens: 42,
};

export const EMBEDDINGS_USAGE = { prompt_tokens: 8, total_tokens: 8 };

/** The streamed answer, one chunk per word. */
export const WORDS = ["Hello", " from", " the", " fake", " upstream."];

export interface Failure {
  status: number;
  type: string;
  code: string | null;
  message: string;
  headers?: Record<string, string>;
}

export const RATE_LIMITED: Failure = {
  status: 429,
  type: "requests",
  code: "rate_limit_exceeded",
  message: "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.",
};

export const SERVER_ERROR: Failure = {
  status: 500,
  type: "server_error",
  code: null,
  message: "The server had an error while processing your request. Sorry about that!",
};

export interface RecordedRequest {
  path: string;
  body: Record<string, unknown>;
}

export interface FakeOpenAI {
  /** Base URL for `new OpenAI({ baseURL })`, ending in /v1. */
  baseURL: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Answer the next `times` requests with this error. */
  failNext(failure: Failure, times?: number): void;
  /** Delay before the first streamed content chunk (default 0) and between chunks (default 2 ms). */
  setStreamTiming(firstTokenDelayMs: number, chunkDelayMs?: number): void;
  /** Make the next stream fail with an in-stream error after `chunks` content chunks. */
  breakNextStreamAfter(chunks: number): void;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const requests: RecordedRequest[] = [];
  const failures: Failure[] = [];
  let firstTokenDelayMs = 0;
  let chunkDelayMs = 2;
  let breakAfter: number | undefined;
  let counter = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = (req.url ?? "").split("?")[0] ?? "";
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
      } catch {
        return sendError(res, { status: 400, type: "invalid_request_error", code: null, message: "invalid JSON" });
      }
      requests.push({ path, body });
      const failure = failures.shift();
      if (failure) return sendError(res, failure);
      counter += 1;
      const id = String(counter);
      const model = String(body.model ?? "");
      const served = SNAPSHOT[model] ?? model;
      const breakStream = breakAfter;
      if (body.stream === true) breakAfter = undefined;
      const timing = { firstTokenDelayMs, chunkDelayMs, breakAfter: breakStream };
      const route: Record<string, () => void | Promise<void>> = {
        "/v1/chat/completions": () =>
          body.stream === true ? streamChat(res, id, served, body, timing) : sendJson(res, chatCompletion(id, served)),
        "/v1/responses": () =>
          body.stream === true ? streamResponse(res, id, served, timing) : sendJson(res, responseObject(id, served)),
        "/v1/embeddings": () => sendJson(res, embeddings(served, body)),
      };
      const handler = route[path];
      if (!handler) {
        return sendError(res, {
          status: 404,
          type: "invalid_request_error",
          code: "unknown_url",
          message: `Unknown request URL: POST ${path}`,
        });
      }
      void Promise.resolve(handler()).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    failNext(failure, times = 1) {
      for (let i = 0; i < times; i += 1) failures.push(failure);
    },
    setStreamTiming(first, between = 2) {
      firstTokenDelayMs = first;
      chunkDelayMs = between;
    },
    breakNextStreamAfter(count) {
      breakAfter = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sendJson(
  res: http.ServerResponse,
  payload: unknown,
  status = 200,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "x-request-id": `req_fake_${Date.now()}`,
    ...headers,
  });
  res.end(body);
}

function sendError(res: http.ServerResponse, failure: Failure): void {
  sendJson(
    res,
    { error: { message: failure.message, type: failure.type, param: null, code: failure.code } },
    failure.status,
    failure.headers,
  );
}

function chatCompletion(id: string, model: string) {
  return {
    id: `chatcmpl-fake${id}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: WORDS.join(""), refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: "stop",
      },
    ],
    usage: CHAT_USAGE,
    service_tier: "default",
    system_fingerprint: "fp_fake",
  };
}

interface Timing {
  firstTokenDelayMs: number;
  chunkDelayMs: number;
  breakAfter: number | undefined;
}

function openStream(res: http.ServerResponse): void {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-request-id": "req_fake_stream",
  });
  res.flushHeaders();
}

async function streamChat(
  res: http.ServerResponse,
  id: string,
  model: string,
  body: Record<string, unknown>,
  timing: Timing,
): Promise<void> {
  openStream(res);
  const base = {
    id: `chatcmpl-fake${id}`,
    object: "chat.completion.chunk",
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: "fp_fake",
  };
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const usageField = includeUsage ? { usage: null } : {};
  const send = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
  await sleep(timing.firstTokenDelayMs);
  send({
    ...base,
    choices: [
      { index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null },
    ],
    ...usageField,
  });
  for (const [index, word] of WORDS.entries()) {
    if (timing.breakAfter === index) {
      send({
        error: { message: "The server had an error while streaming.", type: "server_error", param: null, code: null },
      });
      res.end();
      return;
    }
    send({
      ...base,
      choices: [{ index: 0, delta: { content: word }, logprobs: null, finish_reason: null }],
      ...usageField,
    });
    await sleep(timing.chunkDelayMs);
  }
  send({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }], ...usageField });
  if (includeUsage) send({ ...base, choices: [], usage: CHAT_USAGE });
  res.end("data: [DONE]\n\n");
}

function responseObject(id: string, model: string, status = "completed") {
  return {
    id: `resp_fake${id}`,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status,
    model,
    output: [
      {
        id: `msg_fake${id}`,
        type: "message",
        status: "completed",
        role: "assistant",
        content: [{ type: "output_text", text: WORDS.join(""), annotations: [] }],
      },
    ],
    usage: status === "completed" ? RESPONSES_USAGE : null,
    error: null,
    incomplete_details: null,
    instructions: null,
    parallel_tool_calls: true,
    tool_choice: "auto",
    tools: [],
    temperature: 1,
    top_p: 1,
  };
}

async function streamResponse(res: http.ServerResponse, id: string, model: string, timing: Timing): Promise<void> {
  openStream(res);
  let sequence = 0;
  const send = (type: string, payload: Record<string, unknown>) => {
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...payload })}\n\n`);
  };
  send("response.created", { response: responseObject(id, model, "in_progress") });
  await sleep(timing.firstTokenDelayMs);
  for (const word of WORDS) {
    send("response.output_text.delta", { item_id: `msg_fake${id}`, output_index: 0, content_index: 0, delta: word });
    await sleep(timing.chunkDelayMs);
  }
  send("response.completed", { response: responseObject(id, model) });
  res.end();
}

function embeddings(model: string, body: Record<string, unknown>) {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const vector = [0.25, -0.5, 0.125];
  const base64 = body.encoding_format === "base64";
  return {
    object: "list",
    data: inputs.map((_, index) => ({
      object: "embedding",
      index,
      embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector,
    })),
    model,
    usage: EMBEDDINGS_USAGE,
  };
}
