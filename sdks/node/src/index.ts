/**
 * TokenOptimizer for Node: record what your LLM calls cost.
 *
 * ```ts
 * import OpenAI from "openai";
 * import { configure, wrap, withContext } from "tokenoptimizer";
 *
 * configure({ apiKey: process.env.TOKENOPTIMIZER_API_KEY, baseUrl: "http://127.0.0.1:8000" });
 * const openai = wrap(new OpenAI());
 * await withContext({ feature: "search", user: "alice" }, () =>
 *   openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hi" }] }),
 * );
 * ```
 */

export { ESTIMATED_TAG } from "./call.js";
export { currentContext, withContext, type Attribution } from "./context.js";
export type { RequestType, TrackInput, WireEvent } from "./event.js";
export { configure, flush, shutdown, stats, track } from "./global.js";
export type { Logger } from "./log.js";
export { wrap, type WrapOptions } from "./openai.js";
export type { ConfigureOptions, FlushResult, Stats } from "./recorder.js";
export { VERSION } from "./version.js";
