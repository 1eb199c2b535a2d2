/** Usage patterns: when calls happen (weekday × hour), daily volume, who calls, which prompts cost most. */
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api, type Breakdown, type BreakdownRow } from "../api/client";
import { useAnalytics } from "../api/queries";
import { FilterBar } from "../components/FilterBar";
import { EmptyState, ErrorState, Skeleton } from "../components/States";
import { colorFor } from "../lib/chartData";
import { formatBucket, formatCompact, formatMoney, formatNumber, formatPercent } from "../lib/format";
import { parseHeatmapMetric, shortHash } from "../lib/patterns";
import { useSession } from "../lib/session";
import { useViewState } from "../lib/useViewState";
import { RANGE_LABELS, resolveRange, toApiParams } from "../lib/urlState";
import { ChartTooltip } from "./overview/ChartTooltip";
import { Heatmap } from "./patterns/Heatmap";

const NUMERIC = "px-3 py-2 text-right tabular-nums";
const TH = "px-3 py-2 font-medium";
const TH_NUM = "px-3 py-2 text-right font-medium";
const THEAD = "bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500 dark:bg-slate-800/60 dark:text-slate-400";

function withParams(base: URLSearchParams, extra: Record<string, string>): URLSearchParams {
  const params = new URLSearchParams(base);
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return params;
}

interface QueryLike<T> {
  data?: T;
  error: unknown;
  isPlaceholderData?: boolean;
  refetch: () => unknown;
}

/** A titled panel that shows the query's error, skeleton or empty state, or its content. */
function Panel<T>({
  id,
  title,
  query,
  isEmpty,
  emptyHint,
  children,
  className = "",
}: {
  id: string;
  title: string;
  query: QueryLike<T>;
  isEmpty: (data: T) => boolean;
  emptyHint?: string;
  children: (data: T) => React.ReactNode;
  className?: string;
}) {
  return (
    <section className={`panel min-w-0 ${className}`} aria-labelledby={id}>
      <h2 id={id} className="panel-title mb-3">
        {title}
      </h2>
      {query.error && !query.data ? (
        <ErrorState error={query.error} onRetry={() => query.refetch()} compact />
      ) : !query.data ? (
        <Skeleton className="h-48 w-full" />
      ) : isEmpty(query.data) ? (
        <EmptyState title="Nothing in this period">{emptyHint}</EmptyState>
      ) : (
        <div className={query.isPlaceholderData ? "opacity-60" : ""}>{children(query.data)}</div>
      )}
    </section>
  );
}

function rowName(row: BreakdownRow): string {
  return row.label ?? row.key ?? "(none)";
}

function BreakdownTable({ data, label }: { data: Breakdown; label: string }) {
  return (
    <div className="relative -mx-4 -mb-4 overflow-x-auto">
      <table className="w-full text-sm">
        <caption className="sr-only">Requests, tokens and cost by {label.toLowerCase()}, most expensive first</caption>
        <thead className={THEAD}>
          <tr>
            <th scope="col" className={TH}>{label}</th>
            <th scope="col" className={TH_NUM}>Requests</th>
            <th scope="col" className={TH_NUM}>Tokens</th>
            <th scope="col" className={TH_NUM}>Cost</th>
            <th scope="col" className={TH_NUM}>Share</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
          {data.rows.map((row) => (
            <tr key={rowName(row)} className="hover:bg-slate-50 dark:hover:bg-slate-800/40">
              <th scope="row" className="max-w-56 truncate px-3 py-2 text-left font-medium" title={rowName(row)}>
                {row.key === null ? <span className="text-slate-500 dark:text-slate-400">(none)</span> : rowName(row)}
              </th>
              <td className={NUMERIC}>{formatNumber(row.requests)}</td>
              <td className={NUMERIC}>{formatCompact(row.tokens)}</td>
              <td className={NUMERIC}>{formatMoney(row.cost, data.currency)}</td>
              <td className={NUMERIC}>{formatPercent(row.share)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default function PatternsPage() {
  const { state, today, params, setExtra } = useViewState();
  const { organization } = useSession();
  const heatMetric = parseHeatmapMetric(params.get("heat"));
  const range = resolveRange(state, today);
  const base = toApiParams(state, today);

  const heatmap = useAnalytics("heatmap", withParams(base, { metric: heatMetric }), api.heatmap);
  const volume = useAnalytics("timeseries", withParams(base, { metric: "requests", interval: "day" }), api.timeseries);
  const users = useAnalytics("breakdown", withParams(base, { by: "user", sort: "cost", limit: "10" }), api.breakdown);
  const endUsers = useAnalytics("breakdown", withParams(base, { by: "end_user", sort: "cost", limit: "10" }), api.breakdown);
  const prompts = useAnalytics("top-prompts", withParams(base, { limit: "15" }), api.topPrompts);

  const rangeText = state.range === "custom" ? `${range.from} – ${range.to}` : RANGE_LABELS[state.range];
  const volumeRows = (volume.data?.series[0]?.points ?? []).map((point) => ({ start: point.start, requests: point.value ?? 0 }));
  const volumeTotal = volumeRows.reduce((sum, row) => sum + row.requests, 0);
  const timezone = volume.data?.timezone ?? organization.timezone;

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <div>
          <h1 className="text-xl font-semibold">Usage patterns</h1>
          <p className="text-sm text-slate-500 dark:text-slate-400">
            {rangeText}
            {state.project ? ` · ${state.project}` : " · all projects"} · {organization.timezone}
          </p>
        </div>
        <FilterBar />
      </div>

      <Heatmap
        data={heatmap.data}
        metric={heatMetric}
        onMetric={(next) => setExtra({ heat: next === "requests" ? undefined : next })}
        isFetching={heatmap.isFetching}
        error={heatmap.error}
        onRetry={() => heatmap.refetch()}
      />

      <Panel id="patterns-volume" title="Requests per day" query={volume} isEmpty={() => volumeTotal === 0}>
        {() => (
          <div className="h-56 text-slate-500 dark:text-slate-400" role="img" aria-label={`Requests per day: ${formatNumber(volumeTotal)} in total over ${volumeRows.length} days`}>
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={volumeRows} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
                <CartesianGrid vertical={false} stroke="currentColor" strokeOpacity={0.15} />
                <XAxis
                  dataKey="start"
                  tickFormatter={(value: string) => formatBucket(value, "day", timezone)}
                  tick={{ fill: "currentColor", fontSize: 11 }}
                  stroke="currentColor"
                  strokeOpacity={0.3}
                  minTickGap={16}
                />
                <YAxis allowDecimals={false} tickFormatter={(v: number) => formatCompact(v)} tick={{ fill: "currentColor", fontSize: 11 }} stroke="currentColor" strokeOpacity={0.3} width={48} />
                <Tooltip
                  cursor={{ fill: "currentColor", fillOpacity: 0.08 }}
                  content={(props) => (
                    <ChartTooltip
                      active={props.active}
                      payload={props.payload as never}
                      label={props.label as string}
                      formatValue={(v) => formatNumber(v)}
                      formatLabel={(label) => formatBucket(String(label), "day", timezone)}
                      showTotal={false}
                    />
                  )}
                />
                <Bar dataKey="requests" name="Requests" fill={colorFor(0)} radius={[3, 3, 0, 0]} isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        )}
      </Panel>

      <div className="grid gap-4 lg:grid-cols-2">
        <Panel id="patterns-users" title="Top users" query={users} isEmpty={(data) => data.rows.length === 0} emptyHint="Calls carry a user when the SDK or gateway sends one.">
          {(data) => <BreakdownTable data={data} label="User" />}
        </Panel>
        <Panel id="patterns-end-users" title="Top end-users" query={endUsers} isEmpty={(data) => data.rows.length === 0} emptyHint="Calls carry an end user when your app sends one.">
          {(data) => <BreakdownTable data={data} label="End user" />}
        </Panel>
      </div>

      <Panel
        id="patterns-prompts"
        title="Top prompts"
        query={prompts}
        isEmpty={(data) => data.rows.length === 0}
        emptyHint="Only calls with a prompt_hash are counted; send one per prompt template."
      >
        {(data) => (
          <div className="relative -mx-4 -mb-4 overflow-x-auto">
            <table className="w-full text-sm">
              <caption className="sr-only">The most expensive prompt templates: calls, average tokens, cost per call and total cost</caption>
              <thead className={THEAD}>
                <tr>
                  <th scope="col" className={TH}>Prompt hash</th>
                  <th scope="col" className={TH}>Feature · model</th>
                  <th scope="col" className={TH_NUM}>Calls</th>
                  <th scope="col" className={TH_NUM}>Avg input</th>
                  <th scope="col" className={TH_NUM}>Avg output</th>
                  <th scope="col" className={TH_NUM}>Cost per call</th>
                  <th scope="col" className={TH_NUM}>Total</th>
                  <th scope="col" className={TH_NUM}>Share</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                {data.rows.map((row) => (
                  <tr key={row.key} className="hover:bg-slate-50 dark:hover:bg-slate-800/40">
                    <th scope="row" className="px-3 py-2 text-left font-mono text-xs font-medium" title={row.key}>
                      {shortHash(row.key)}
                    </th>
                    <td className="max-w-64 truncate px-3 py-2 text-xs text-slate-600 dark:text-slate-300">
                      {[row.feature, row.model].filter(Boolean).join(" · ") || "—"}
                    </td>
                    <td className={NUMERIC}>{formatNumber(row.requests)}</td>
                    <td className={NUMERIC}>{formatCompact(row.avg_input_tokens)}</td>
                    <td className={NUMERIC}>{formatCompact(row.avg_output_tokens)}</td>
                    <td className={NUMERIC}>{formatMoney(row.cost_per_call, data.currency)}</td>
                    <td className={NUMERIC}>{formatMoney(row.cost, data.currency)}</td>
                    <td className={NUMERIC}>{formatPercent(row.share)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Panel>
    </div>
  );
}
