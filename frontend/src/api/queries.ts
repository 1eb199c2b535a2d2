/** TanStack Query hooks over the API client: one query key per endpoint and its parameters. */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, ApiError } from "./client";

export const queryKeys = {
  me: ["me"] as const,
  projects: ["projects"] as const,
  unpriced: ["models", "unpriced"] as const,
  apiKeys: ["api-keys"] as const,
  priceOverrides: ["price-overrides"] as const,
};

/** The logged-in user; `null` when not logged in (401), so callers can redirect. */
export function useMe() {
  return useQuery({
    queryKey: queryKeys.me,
    queryFn: async ({ signal }) => {
      try {
        return await api.me(signal);
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 5 * 60_000,
  });
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

/** One analytics endpoint with its query string; the previous answer stays on screen while loading. */
export function useAnalytics<T>(
  name: "summary" | "timeseries" | "breakdown" | "performance" | "heatmap" | "impact" | "top-prompts",
  params: URLSearchParams,
  fetcher: (params: URLSearchParams, signal?: AbortSignal) => Promise<T>,
) {
  return useQuery({
    queryKey: ["usage", name, params.toString()],
    queryFn: ({ signal }) => fetcher(params, signal),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
}
