/** Project and API key names for showing budget scopes (which store ids). */
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { api } from "../../api/client";
import { queryKeys, useProjects } from "../../api/queries";
import type { ScopeNames } from "../../lib/budgets";
import { useSession } from "../../lib/session";

export const ADMIN_ROLES = new Set(["owner", "admin"]);

export function useIsAdmin(): boolean {
  return ADMIN_ROLES.has(useSession().role);
}

export function useScopeNames(): ScopeNames {
  const isAdmin = useIsAdmin();
  const projects = useProjects();
  // The key list is for admins only: members see key ids.
  const keys = useQuery({ queryKey: queryKeys.apiKeys, queryFn: ({ signal }) => api.apiKeys(signal), enabled: isAdmin, staleTime: 60_000 });
  return useMemo(
    () => ({
      projects: new Map((projects.data ?? []).map((p) => [p.id, p.name])),
      apiKeys: new Map((keys.data ?? []).map((k) => [k.id, k.name ? `${k.name} (${k.prefix})` : k.prefix])),
    }),
    [projects.data, keys.data],
  );
}
