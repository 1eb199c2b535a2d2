/** Where the money goes: a donut by model, bars by provider, feature and project (HTML and CSS). */
import { memo } from "react";
import type { Breakdown, BreakdownRow } from "../../api/client";
import { EmptyState, ErrorState, Skeleton } from "../../components/States";
import { colorFor, OTHER_COLOR } from "../../lib/chartData";
import { formatMoney, formatPercent } from "../../lib/format";

export interface BreakdownQuery {
  data?: Breakdown;
  /** True while an earlier answer stands in for the one being fetched. */
  isPlaceholderData?: boolean;
  error: unknown;
  refetch: () => unknown;
}

function rowName(row: BreakdownRow): string {
  return row.label ?? row.key ?? "(none)";
}

function Frame({ title, query, children, height = "h-64" }: { title: string; query: BreakdownQuery; height?: string; children: (data: Breakdown) => React.ReactNode }) {
  const id = `bd-${title.replace(/\W+/g, "-").toLowerCase()}`;
  return (
    <section className="panel min-w-0" aria-labelledby={id} data-ready={query.data && !query.isPlaceholderData ? "true" : "false"}>
      <h2 id={id} className="panel-title mb-3">
        {title}
      </h2>
      {query.error && !query.data ? (
        <ErrorState error={query.error} onRetry={() => query.refetch()} compact />
      ) : !query.data ? (
        <Skeleton className={`${height} w-full`} />
      ) : query.data.rows.every((row) => row.cost === 0 && row.requests === 0) ? (
        <EmptyState title="Nothing in this period" />
      ) : (
        children(query.data)
      )}
    </section>
  );
}

/**
 * Conic-gradient stops of a donut: each share in turn (0–1 of the whole), the rest in grey.
 * Plain CSS rather than a chart library: the overview draws on first load, and four charts of
 * SVG cost more main-thread time there than the numbers they show (see bench/ui.py).
 */
export function donutStops(shares: number[], colors: string[], restColor: string): string {
  let at = 0;
  const stops = shares.map((share, index) => {
    const from = at;
    at = Math.min(1, at + Math.max(0, share));
    return `${colors[index] ?? restColor} ${(from * 100).toFixed(3)}% ${(at * 100).toFixed(3)}%`;
  });
  if (at < 1) stops.push(`${restColor} ${(at * 100).toFixed(3)}% 100%`);
  return `conic-gradient(${stops.join(", ")})`;
}

/** Share of cost by model: donut with a legend that lists amounts and shares. */
export const ModelDonut = memo(function ModelDonut({ query }: { query: BreakdownQuery }) {
  return (
    <Frame title="Cost by model" query={query}>
      {(data) => {
        const rows = data.rows.filter((row) => row.cost > 0);
        const shown = rows.reduce((sum, row) => sum + (row.share ?? 0), 0);
        const rest = Math.max(0, 1 - shown);
        const background = donutStops(
          rows.map((row) => row.share ?? 0),
          rows.map((_, index) => colorFor(index)),
          OTHER_COLOR,
        );
        return (
          <div className="flex flex-col items-center gap-4 sm:flex-row">
            <div
              className="relative size-52 shrink-0 rounded-full"
              style={{ background }}
              role="img"
              aria-label={`Cost by model: ${rows.map((r) => `${rowName(r)} ${formatPercent(r.share)}`).join(", ")}`}
            >
              <div className="absolute inset-[21%] rounded-full bg-white dark:bg-slate-900" />
            </div>
            <ul className="w-full min-w-0 space-y-1 text-sm">
              {rows.map((row, index) => (
                <li key={rowName(row)} className="flex items-center gap-2">
                  <span aria-hidden className="size-2.5 shrink-0 rounded-sm" style={{ background: colorFor(index) }} />
                  <span className="min-w-0 truncate" title={rowName(row)}>
                    {rowName(row)}
                  </span>
                  <span className="ml-auto shrink-0 tabular-nums">{formatMoney(row.cost, data.currency)}</span>
                  <span className="w-12 shrink-0 text-right text-xs tabular-nums text-slate-500 dark:text-slate-400">{formatPercent(row.share)}</span>
                </li>
              ))}
              {rest > 0.0005 && (
                <li className="flex items-center gap-2 text-slate-500 dark:text-slate-400">
                  <span aria-hidden className="size-2.5 shrink-0 rounded-sm" style={{ background: OTHER_COLOR }} />
                  Other models
                  <span className="ml-auto w-12 text-right text-xs tabular-nums">{formatPercent(rest)}</span>
                </li>
              )}
            </ul>
          </div>
        );
      }}
    </Frame>
  );
});

/** Horizontal bars of cost per value of a dimension, as plain HTML (a list a screen reader reads). */
export const CostBars = memo(function CostBars({ title, query }: { title: string; query: BreakdownQuery }) {
  return (
    <Frame title={title} query={query}>
      {(data) => {
        const largest = Math.max(0, ...data.rows.map((row) => row.cost));
        return (
          <ul className="space-y-1.5 text-sm" aria-label={title}>
            {data.rows.map((row) => {
              const name = rowName(row);
              const width = largest > 0 ? Math.max(0.5, (row.cost / largest) * 100) : 0;
              return (
                <li key={name} className="grid grid-cols-[minmax(0,9rem)_minmax(0,1fr)_auto] items-center gap-2" title={`${name}: ${formatMoney(row.cost, data.currency)} (${formatPercent(row.share)})`}>
                  <span className="truncate text-slate-700 dark:text-slate-200">{name}</span>
                  <span aria-hidden className="h-4 overflow-hidden rounded-sm bg-slate-100 dark:bg-slate-800">
                    <span className="block h-full rounded-sm" style={{ width: `${width}%`, background: colorFor(0) }} />
                  </span>
                  <span className="text-right text-xs tabular-nums text-slate-600 dark:text-slate-300">{formatMoney(row.cost, data.currency)}</span>
                </li>
              );
            })}
          </ul>
        );
      }}
    </Frame>
  );
});
