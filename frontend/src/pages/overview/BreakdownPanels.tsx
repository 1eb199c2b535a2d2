/** Where the money goes: a donut by model, bars by provider, feature and project. */
import { Bar, BarChart, Cell, Pie, PieChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { Breakdown, BreakdownRow } from "../../api/client";
import { EmptyState, ErrorState, Skeleton } from "../../components/States";
import { colorFor, OTHER_COLOR } from "../../lib/chartData";
import { formatMoney, formatMoneyCompact, formatPercent } from "../../lib/format";
import { ChartTooltip } from "./ChartTooltip";

export interface BreakdownQuery {
  data?: Breakdown;
  error: unknown;
  refetch: () => unknown;
}

function rowName(row: BreakdownRow): string {
  return row.label ?? row.key ?? "(none)";
}

function Frame({ title, query, children, height = "h-64" }: { title: string; query: BreakdownQuery; height?: string; children: (data: Breakdown) => React.ReactNode }) {
  const id = `bd-${title.replace(/\W+/g, "-").toLowerCase()}`;
  return (
    <section className="panel min-w-0" aria-labelledby={id}>
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

/** Share of cost by model: donut with a legend that lists amounts and shares. */
export function ModelDonut({ query }: { query: BreakdownQuery }) {
  return (
    <Frame title="Cost by model" query={query}>
      {(data) => {
        const rows = data.rows.filter((row) => row.cost > 0);
        const shown = rows.reduce((sum, row) => sum + (row.share ?? 0), 0);
        const rest = Math.max(0, 1 - shown);
        return (
          <div className="flex flex-col items-center gap-4 sm:flex-row">
            <div className="h-52 w-52 shrink-0" role="img" aria-label={`Cost by model: ${rows.map((r) => `${rowName(r)} ${formatPercent(r.share)}`).join(", ")}`}>
              <ResponsiveContainer width="100%" height="100%">
                <PieChart>
                  <Pie data={rows} dataKey="cost" nameKey={rowName} innerRadius="58%" outerRadius="95%" paddingAngle={1} isAnimationActive={false} stroke="none">
                    {rows.map((row, index) => (
                      <Cell key={rowName(row)} fill={colorFor(index)} />
                    ))}
                  </Pie>
                  <Tooltip content={(props) => <ChartTooltip active={props.active} payload={props.payload as never} formatValue={(v) => formatMoney(v, data.currency)} />} />
                </PieChart>
              </ResponsiveContainer>
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
}

/** Horizontal bars of cost per value of a dimension. */
export function CostBars({ title, query }: { title: string; query: BreakdownQuery }) {
  return (
    <Frame title={title} query={query}>
      {(data) => {
        const rows = data.rows.map((row) => ({ name: rowName(row), cost: row.cost, share: row.share }));
        const height = Math.max(120, rows.length * 30 + 20);
        return (
          <div className="text-slate-500 dark:text-slate-400" style={{ height }} role="img" aria-label={`${title}: ${rows.map((r) => `${r.name} ${formatMoney(r.cost, data.currency)}`).join(", ")}`}>
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={rows} layout="vertical" margin={{ top: 0, right: 12, bottom: 0, left: 0 }}>
                <XAxis type="number" tickFormatter={(v: number) => formatMoneyCompact(v, data.currency)} tick={{ fill: "currentColor", fontSize: 11 }} stroke="currentColor" strokeOpacity={0.3} />
                <YAxis type="category" dataKey="name" width={120} tick={{ fill: "currentColor", fontSize: 11 }} stroke="currentColor" strokeOpacity={0.3} interval={0} />
                <Tooltip cursor={{ fill: "currentColor", fillOpacity: 0.08 }} content={(props) => <ChartTooltip active={props.active} payload={props.payload as never} label={props.label as string} formatValue={(v) => formatMoney(v, data.currency)} />} />
                <Bar dataKey="cost" name="Cost" fill={colorFor(0)} radius={[0, 3, 3, 0]} isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        );
      }}
    </Frame>
  );
}
