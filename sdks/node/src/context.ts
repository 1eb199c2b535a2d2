/**
 * Attribution (feature, user, end user, team, tags, trace id) carried across `await`s with
 * `AsyncLocalStorage`: every LLM call made inside `withContext(...)`, however deep in the call
 * tree and whichever client it uses, is recorded with it. Contexts nest: inner values win, tags merge.
 */

import { AsyncLocalStorage } from "node:async_hooks";

/** Who and what an LLM call is for; every field is optional. */
export interface Attribution {
  /** The product feature that made the call ("search", "summarise", …). */
  feature?: string;
  /** Your user (an employee, an account) who caused the call. */
  user?: string;
  /** Your customer's user, when you serve other businesses. */
  endUser?: string;
  /** The team the call is charged to. */
  team?: string;
  /** A trace id to join the call with your traces. */
  traceId?: string;
  /** Free-form labels (at most 50; keys up to 64 characters, values up to 200). */
  tags?: Record<string, string>;
}

const storage = new AsyncLocalStorage<Attribution>();
const EMPTY: Attribution = Object.freeze({});

/** Merge two attributions: `inner`'s defined fields win, tags are merged. */
export function mergeAttribution(outer: Attribution, inner: Attribution): Attribution {
  const merged: Attribution = { ...outer };
  for (const key of ["feature", "user", "endUser", "team", "traceId"] as const) {
    const value = inner[key];
    if (value !== undefined && value !== null) merged[key] = value;
  }
  if (inner.tags) merged.tags = { ...outer.tags, ...inner.tags };
  return merged;
}

/**
 * Run `fn` with `attribution` applied to every call it makes, synchronously or after any `await`.
 * Returns what `fn` returns (a promise stays a promise).
 *
 * ```ts
 * await withContext({ feature: "search", user: "alice" }, () => answer(question));
 * ```
 */
export function withContext<R>(attribution: Attribution, fn: () => R): R {
  const outer = storage.getStore() ?? EMPTY;
  return storage.run(mergeAttribution(outer, attribution), fn);
}

/** The attribution in force here (empty outside any `withContext`). */
export function currentContext(): Readonly<Attribution> {
  return storage.getStore() ?? EMPTY;
}
