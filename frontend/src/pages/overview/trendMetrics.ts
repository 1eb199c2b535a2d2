/** What the overview's trend can show; apart from the chart so the page need not load the chart's code to read the URL. */
export const TREND_METRICS = [
  { id: "cost", label: "Cost" },
  { id: "requests", label: "Requests" },
  { id: "tokens", label: "Tokens" },
] as const;
export type TrendMetric = (typeof TREND_METRICS)[number]["id"];

export function isTrendMetric(value: string | null): value is TrendMetric {
  return TREND_METRICS.some((metric) => metric.id === value);
}
