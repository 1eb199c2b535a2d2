/** Alerts in words and colours; the unread badge's text. Tested in alerts.test.ts. */

export const ALERT_KIND_LABELS: Record<string, string> = {
  budget_threshold: "Budget threshold",
  spend_spike: "Spend spike",
  error_rate: "Error rate",
};

export function alertKindLabel(kind: string): string {
  return ALERT_KIND_LABELS[kind] ?? kind.replace(/_/g, " ");
}

export type SeverityTone = "info" | "warning" | "critical";

export function severityTone(severity: string): SeverityTone {
  return severity === "critical" ? "critical" : severity === "warning" ? "warning" : "info";
}

/** The stripe on the alert's left and its severity label. */
export const SEVERITY_CLASSES: Record<SeverityTone, { stripe: string; label: string }> = {
  info: {
    stripe: "border-l-sky-500",
    label: "bg-sky-50 text-sky-800 dark:bg-sky-500/10 dark:text-sky-200",
  },
  warning: {
    stripe: "border-l-amber-500",
    label: "bg-amber-50 text-amber-800 dark:bg-amber-500/10 dark:text-amber-200",
  },
  critical: {
    stripe: "border-l-rose-600",
    label: "bg-rose-50 text-rose-800 dark:bg-rose-500/10 dark:text-rose-200",
  },
};

/** The badge on the bell: nothing for 0, "99+" past 99. */
export function unreadBadge(count: number | undefined): string | null {
  if (!count || count <= 0) return null;
  return count > 99 ? "99+" : String(count);
}

/** The bell's accessible name. */
export function bellLabel(count: number | undefined): string {
  if (!count) return "Alerts";
  return `Alerts, ${count} unread`;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago"; older than a week: null (show the date). */
export function timeAgo(iso: string, now: number): string | null {
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return null;
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  const days = Math.floor(seconds / 86_400);
  if (days <= 7) return days === 1 ? "yesterday" : `${days} days ago`;
  return null;
}

/** Who acknowledged, in words: the API names actors `user:<id>` or `api_key:<id>`. */
export function ackedBy(actor: string | null, myUserId: string): string | null {
  if (!actor) return null;
  if (actor === `user:${myUserId}`) return "you";
  if (actor.startsWith("user:")) return "another member";
  if (actor.startsWith("api_key:")) return "an API key";
  return actor;
}
