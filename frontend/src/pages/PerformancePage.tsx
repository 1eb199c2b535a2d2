/** Performance: latency percentiles, time to first token, success rate and errors by type, per group. */
import { Bar, BarChart, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api } from "../api/client";
import { useAnalytics } from "../api/queries";
import { FilterBar } from "../components/FilterBar";
import { CardsAndChartSkeleton, EmptyState, ErrorState, NoCallsPanel } from "../components/States";
import { colorFor } from "../lib/chartData";
import { formatDuration, formatNumber, formatPercent } from "../lib/format";
import { errorShares, GROUP_LABELS, groupName, latencyBars, overallSuccess, parseGroup, PERFORMANCE_GROUPS } from "../lib/performance";
import { useSession } from "../lib/session";
import { useViewState } from "../lib/useViewState";
import { RANGE_LABELS, resolveRange, toApiParams } from "../lib/urlState";
import { ChartTooltip } from "./overview/ChartTooltip";

function Card({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div className="panel">
      <p className="text-sm text-slate-500 dark:text-slate-400">{label}</p>
      <p className="mt-1 text-2xl font-semibold tabular-nums">{value}</p>
      {hint && <p className="mt-0.5 text-xs text-slate-500 dark:text-slate-400">{hint}</p>}
    </div>
  );
}

const NUMERIC = "px-3 py-2 text-right tabular-nums";

export default function PerformancePage() {
  const { state, today, params, setExtra } = useViewState();
  const { organization } = useSession();
  const by = parseGroup(params.get("by"));
  const range = resolveRange(state, today);
  const query = toApiParams(state, today);
  query.set("by", by);
  const performance = useAnalytics("performance", query, api.performance);
  const data = performance.data;
  const rows = data?.rows ?? [];
  const totals = overallSuccess(rows);
  const bars = latencyBars(rows);
  const errors = errorShares(data?.error_types ?? []);
  const rangeText = state.range === "custom" ? `${range.from} – ${range.to}` : RANGE_LABELS[state.range];
  const groupLabel = GROUP_LABELS[by];

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <div>
          <h1 className="text-xl font-semibold">Performance</h1>
          <p className="text-sm text-slate-500 dark:text-slate-400">
            {rangeText}
            {state.project ? ` · ${state.project}` : " · all projects"} · {organization.timezone}
          </p>
        </div>
        <div className="flex flex-wrap items-center gap-2">
          <label className="inline-flex items-center gap-2 text-sm">
            Group by
            <select className="input" value={by} onChange={(e) => setExtra({ by: e.target.value === "model" ? undefined : e.target.value })}>
              {PERFORMANCE_GROUPS.map((group) => (
                <option key={group} value={group}>
                  {GROUP_LABELS[group]}
                </option>
              ))}
            </select>
          </label>
          <FilterBar />
        </div>
      </div>

      {performance.isError && !data ? (
        <div className="panel">
          <ErrorState error={performance.error} onRetry={() => performance.refetch()} />
        </div>
      ) : performance.isPending ? (
        <CardsAndChartSkeleton cards={3} grid="sm:grid-cols-3" />
      ) : totals.requests === 0 ? (
        <NoCallsPanel />
      ) : (
        <div className={`space-y-4 ${performance.isPlaceholderData ? "opacity-60" : ""}`}>
          <section aria-label="Reliability figures" className="grid gap-4 sm:grid-cols-3">
            <Card label="Requests" value={formatNumber(totals.requests)} />
            <Card label="Success rate" value={formatPercent(totals.rate, undefined, 2)} hint={`${formatNumber(totals.requests - totals.errors)} of ${formatNumber(totals.requests)} calls`} />
            <Card label="Errors" value={formatNumber(totals.errors)} hint={errors[0] ? `most often ${errors[0].name}` : "none"} />
          </section>

          <div className="grid gap-4 lg:grid-cols-3">
            <section className="panel min-w-0 lg:col-span-2" aria-labelledby="perf-latency">
              <h2 id="perf-latency" className="panel-title mb-3">
                Latency by {groupLabel.toLowerCase()} (p50 and p95)
              </h2>
              {bars.length === 0 ? (
                <EmptyState title="No latency reported">The calls of this period carry no latency_ms.</EmptyState>
              ) : (
                <div
                  className="text-slate-500 dark:text-slate-400"
                  style={{ height: Math.max(140, bars.length * 44 + 50) }}
                  role="img"
                  aria-label={`Latency by ${groupLabel.toLowerCase()}: ${bars.map((bar) => `${bar.name} p50 ${formatDuration(bar.p50)}, p95 ${formatDuration(bar.p95)}`).join("; ")}`}
                >
                  <ResponsiveContainer width="100%" height="100%">
                    <BarChart data={bars} layout="vertical" margin={{ top: 0, right: 12, bottom: 0, left: 0 }}>
                      <XAxis type="number" tickFormatter={(v: number) => formatDuration(v)} tick={{ fill: "currentColor", fontSize: 11 }} stroke="currentColor" strokeOpacity={0.3} />
                      <YAxis type="category" dataKey="name" width={130} tick={{ fill: "currentColor", fontSize: 11 }} stroke="currentColor" strokeOpacity={0.3} interval={0} />
                      <Tooltip
                        cursor={{ fill: "currentColor", fillOpacity: 0.08 }}
                        content={(props) => (
                          <ChartTooltip active={props.active} payload={props.payload as never} label={props.label as string} formatValue={(v) => formatDuration(v)} showTotal={false} />
                        )}
                      />
                      <Legend wrapperStyle={{ fontSize: 12 }} />
                      <Bar dataKey="p50" name="p50" fill={colorFor(0)} radius={[0, 3, 3, 0]} isAnimationActive={false} />
                      <Bar dataKey="p95" name="p95" fill={colorFor(1)} radius={[0, 3, 3, 0]} isAnimationActive={false} />
                    </BarChart>
                  </ResponsiveContainer>
                </div>
              )}
            </section>

            <section className="panel min-w-0" aria-labelledby="perf-errors">
              <h2 id="perf-errors" className="panel-title mb-3">
                Errors by type
              </h2>
              {errors.length === 0 ? (
                <EmptyState title="No errors in this period" />
              ) : (
                <ul className="space-y-2 text-sm">
                  {errors.map((error, index) => (
                    <li key={error.name}>
                      <div className="flex items-center gap-2">
                        <span className="min-w-0 truncate font-medium" title={error.name}>
                          {error.name}
                        </span>
                        <span className="ml-auto tabular-nums">{formatNumber(error.count)}</span>
                        <span className="w-12 text-right text-xs tabular-nums text-slate-500 dark:text-slate-400">{formatPercent(error.share)}</span>
                      </div>
                      <div aria-hidden className="mt-1 h-1.5 rounded bg-slate-100 dark:bg-slate-800">
                        <div className="h-1.5 rounded" style={{ width: `${Math.max(2, error.share * 100)}%`, background: colorFor(index + 3) }} />
                      </div>
                    </li>
                  ))}
                </ul>
              )}
            </section>
          </div>

          <section className="panel overflow-hidden p-0" aria-labelledby="perf-table">
            <h2 id="perf-table" className="panel-title px-4 pt-4 pb-2">
              By {groupLabel.toLowerCase()}
            </h2>
            <div className="overflow-x-auto">
              <table className="w-full text-sm">
                <caption className="sr-only">Latency percentiles, time to first token and success rate by {groupLabel.toLowerCase()}</caption>
                <thead className="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500 dark:bg-slate-800/60 dark:text-slate-400">
                  <tr>
                    <th scope="col" className="px-3 py-2 font-medium">{groupLabel}</th>
                    <th scope="col" className="px-3 py-2 text-right font-medium">Requests</th>
                    <th scope="col" className="px-3 py-2 text-right font-medium">Success</th>
                    <th scope="col" className="px-3 py-2 text-right font-medium">p50</th>
                    <th scope="col" className="px-3 py-2 text-right font-medium">p90</th>
                    <th scope="col" className="px-3 py-2 text-right font-medium">p95</th>
                    <th scope="col" className="px-3 py-2 text-right font-medium">p99</th>
                    <th scope="col" className="px-3 py-2 text-right font-medium">TTFT p50</th>
                    <th scope="col" className="px-3 py-2 text-right font-medium">TTFT p95</th>
                    <th scope="col" className="px-3 py-2 font-medium">Errors</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                  {rows.map((row) => (
                    <tr key={groupName(row)} className="hover:bg-slate-50 dark:hover:bg-slate-800/40">
                      <th scope="row" className="whitespace-nowrap px-3 py-2 text-left font-medium">
                        {groupName(row)}
                      </th>
                      <td className={NUMERIC}>{formatNumber(row.requests)}</td>
                      <td className={`${NUMERIC} ${row.success_rate !== null && row.success_rate < 0.95 ? "text-rose-700 dark:text-rose-400" : ""}`}>
                        {formatPercent(row.success_rate, undefined, 2)}
                      </td>
                      <td className={NUMERIC}>{formatDuration(row.latency_p50_ms)}</td>
                      <td className={NUMERIC}>{formatDuration(row.latency_p90_ms)}</td>
                      <td className={NUMERIC}>{formatDuration(row.latency_p95_ms)}</td>
                      <td className={NUMERIC}>{formatDuration(row.latency_p99_ms)}</td>
                      <td className={NUMERIC}>{formatDuration(row.ttft_p50_ms)}</td>
                      <td className={NUMERIC}>{formatDuration(row.ttft_p95_ms)}</td>
                      <td className="px-3 py-2 text-xs">
                        {Object.keys(row.error_types).length === 0
                          ? "—"
                          : Object.entries(row.error_types)
                              .sort((a, b) => b[1] - a[1])
                              .map(([type, count]) => `${type} ${formatNumber(count)}`)
                              .join(", ")}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </div>
      )}
    </div>
  );
}
