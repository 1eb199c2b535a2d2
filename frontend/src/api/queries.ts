/** TanStack Query hooks over the API client: one query key per endpoint and its parameters. */
import { keepPreviousData, useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api, type AlertQuery, type MePublic, type SessionPublic } from "./client";

export const queryKeys = {
  /** The session (`/auth/session`): `{user, signup_open}`, or null once a 401 says it ended. */
  me: ["auth", "session"] as const,
  projects: ["projects"] as const,
  unpriced: ["models", "unpriced"] as const,
  apiKeys: ["api-keys"] as const,
  priceOverrides: ["price-overrides"] as const,
  budgets: ["budgets"] as const,
  budget: (id: string) => ["budgets", id] as const,
  /** Every alerts query starts with this; the header's unread count is one of them. */
  alerts: ["alerts"] as const,
  unreadAlerts: ["alerts", "unread-count"] as const,
  channels: ["channels"] as const,
  wallets: ["wallets"] as const,
  ledger: (walletId: string, kind: string) => ["wallets", walletId, "ledger", kind] as const,
  deliveries: (channelId: string) => ["channels", channelId, "deliveries"] as const,
  upstreams: ["upstreams"] as const,
  routingRules: ["routing-rules"] as const,
};

function fetchSession({ signal }: { signal: AbortSignal }): Promise<SessionPublic | null> {
  return api.session(signal);
}

/**
 * The logged-in user; `null` when nobody is logged in. Read from `/auth/session`, which answers
 * 200 either way, so a logged-out visit logs no 401 in the browser console.
 */
export function useMe() {
  return useQuery({
    queryKey: queryKeys.me,
    queryFn: fetchSession,
    select: (session): MePublic | null => session?.user ?? null,
    staleTime: 5 * 60_000,
  });
}

/** The whole session answer, for the login page: who is logged in and whether sign-up is open. */
export function useAuthSession() {
  return useQuery({ queryKey: queryKeys.me, queryFn: fetchSession, staleTime: 5 * 60_000 });
}

/** Remembers a login (or a logout, with null) without asking the server again. */
export function sessionAfterLogin(user: MePublic | null): SessionPublic {
  return { user, signup_open: false };
}

export function useProjects() {
  return useQuery({ queryKey: queryKeys.projects, queryFn: ({ signal }) => api.projects(signal), staleTime: 60_000 });
}

export function useUnpricedModels() {
  return useQuery({ queryKey: queryKeys.unpriced, queryFn: ({ signal }) => api.unpricedModels(signal), staleTime: 60_000 });
}

export function useApiKeys() {
  return useQuery({ queryKey: queryKeys.apiKeys, queryFn: ({ signal }) => api.apiKeys(signal) });
}

export function usePriceOverrides() {
  return useQuery({ queryKey: queryKeys.priceOverrides, queryFn: ({ signal }) => api.priceOverrides(signal) });
}

/**
 * One analytics endpoint with its query string; the previous answer stays on screen while loading.
 * `enabled: false` holds the request (e.g. the previous period until a comparison is asked for).
 */
export function useAnalytics<T>(
  name: "summary" | "timeseries" | "breakdown" | "performance" | "heatmap" | "impact" | "top-prompts",
  params: URLSearchParams,
  fetcher: (params: URLSearchParams, signal?: AbortSignal) => Promise<T>,
  options: { enabled?: boolean } = {},
) {
  return useQuery({
    queryKey: ["usage", name, params.toString()],
    queryFn: ({ signal }) => fetcher(params, signal),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
    enabled: options.enabled ?? true,
  });
}

/** Budgets with their status; refreshed as spend comes in. */
export function useBudgets() {
  return useQuery({ queryKey: queryKeys.budgets, queryFn: ({ signal }) => api.budgets(signal), staleTime: 15_000, refetchInterval: 60_000 });
}

export function useBudget(id: string) {
  return useQuery({ queryKey: queryKeys.budget(id), queryFn: ({ signal }) => api.budget(id, signal), staleTime: 15_000, refetchInterval: 60_000 });
}

/** How often the header asks for new alerts. */
export const ALERT_POLL_MS = 30_000;

/** The number of unread alerts, polled for the header's bell. */
export function useUnreadAlertCount() {
  return useQuery({
    queryKey: queryKeys.unreadAlerts,
    queryFn: async ({ signal }) => (await api.alerts({ unread: true, limit: 1 }, signal)).unread_count,
    refetchInterval: ALERT_POLL_MS,
    staleTime: 10_000,
  });
}

/** Alerts newest first, page after page (cursor pagination). */
export function useAlertPages(filters: Omit<AlertQuery, "cursor">) {
  return useInfiniteQuery({
    queryKey: [...queryKeys.alerts, "list", filters] as const,
    queryFn: ({ pageParam, signal }) => api.alerts({ ...filters, cursor: pageParam }, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor,
  });
}

export function useUpstreams() {
  return useQuery({ queryKey: queryKeys.upstreams, queryFn: ({ signal }) => api.upstreams(signal) });
}

export function useRoutingRules() {
  return useQuery({ queryKey: queryKeys.routingRules, queryFn: ({ signal }) => api.routingRules(signal) });
}

/** Notification channels; `retry: false` so a server without them (404) hides the picker at once. */
export function useChannels() {
  return useQuery({ queryKey: queryKeys.channels, queryFn: ({ signal }) => api.channels(signal), retry: false, staleTime: 60_000 });
}

export function useWallets() {
  return useQuery({ queryKey: queryKeys.wallets, queryFn: ({ signal }) => api.wallets(signal), staleTime: 15_000 });
}
