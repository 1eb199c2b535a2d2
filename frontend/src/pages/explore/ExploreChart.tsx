/**
 * The series as lines, stacked areas or bars, with the previous period as dashed lines on the same
 * x positions. Stacked charts get one dashed line for the previous period's total (a per-series
 * line would not sit on its stacked band); line charts get one dashed line per series.
 */
import { Area, Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { colorFor, OTHER_COLOR } from "../../lib/chartData";
import { formatBucket } from "../../lib/format";
import { PREVIOUS_TOTAL, type ChartRow, type ChartType, type ExploreChart as ChartData } from "../../lib/explore";

const PREVIOUS_TOTAL_COLOR = "#64748b";
const DASH = "5 4";

interface Props {
  chart: ChartData;
  type: ChartType;
  interval: string;
  timezone: string;
  formatValue: (value: number) => string;
  formatAxis: (value: number) => string;
  label: string;
}

interface TooltipEntry {
  dataKey?: unknown;
  name?: unknown;
  value?: unknown;
  color?: string;
  payload?: ChartRow;
}

function ExploreTooltip({
  active,
  payload,
  chart,
  interval,
  timezone,
  formatValue,
}: {
  active?: boolean;
  payload?: readonly TooltipEntry[];
  chart: ChartData;
  interval: string;
  timezone: string;
  formatValue: (value: number) => string;
}) {
  const row = payload?.[0]?.payload;
  if (!active || !row) return null;
  const valueOf = (key: string) => (typeof row[key] === "number" ? (row[key] as number) : null);
  const lines = chart.series
    .map((series, index) => ({ series, index, value: valueOf(series.id), previous: valueOf(series.previousId) }))
    .filter((line) => line.value !== null || line.previous !== null);
  const previousStart = typeof row.previousStart === "string" ? row.previousStart : null;
  return (
    <div className="max-w-80 rounded-md border border-slate-200 bg-white px-3 py-2 text-xs shadow-lg dark:border-slate-700 dark:bg-slate-900">
      <p className="mb-1 font-medium">
        {formatBucket(String(row.start), interval, timezone)}
        {previousStart && (
          <span className="font-normal text-slate-500 dark:text-slate-400"> vs {formatBucket(previousStart, interval, timezone)}</span>
        )}
      </p>
      <ul className="space-y-0.5">
        {lines.map(({ series, index, value, previous }) => (
          <li key={series.id} className="flex items-center gap-2">
            <span aria-hidden className="size-2 shrink-0 rounded-sm" style={{ background: colorFor(index, series.isOther) }} />
            <span className="min-w-0 truncate">{series.name}</span>
            <span className="ml-auto pl-3 tabular-nums">{value === null ? "—" : formatValue(value)}</span>
            {chart.hasPrevious && !chart.stackable && (
              <span className="w-16 text-right tabular-nums text-slate-500 dark:text-slate-400">{previous === null ? "—" : formatValue(previous)}</span>
            )}
          </li>
        ))}
      </ul>
      {chart.hasPrevious && chart.stackable && (
        <p className="mt-1 flex border-t border-slate-200 pt-1 text-slate-600 dark:border-slate-700 dark:text-slate-300">
          Previous period (total)
          <span className="ml-auto pl-3 tabular-nums">{valueOf(PREVIOUS_TOTAL) === null ? "—" : formatValue(valueOf(PREVIOUS_TOTAL)!)}</span>
        </p>
      )}
    </div>
  );
}

export function ExploreChart({ chart, type, interval, timezone, formatValue, formatAxis, label }: Props) {
  const stacked = chart.stackable && type !== "line";
  const stackId = stacked ? "total" : undefined;
  const perSeriesPrevious = chart.hasPrevious && !stacked;
  return (
    <div className="h-80 text-slate-500 dark:text-slate-400" role="img" aria-label={label}>
      <ResponsiveContainer width="100%" height="100%">
        <ComposedChart data={chart.rows} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid vertical={false} stroke="currentColor" strokeOpacity={0.15} />
          <XAxis
            dataKey="start"
            tickFormatter={(value: string) => formatBucket(value, interval, timezone)}
            tick={{ fill: "currentColor", fontSize: 11 }}
            stroke="currentColor"
            strokeOpacity={0.3}
            minTickGap={16}
          />
          <YAxis tickFormatter={formatAxis} tick={{ fill: "currentColor", fontSize: 11 }} stroke="currentColor" strokeOpacity={0.3} width={72} />
          <Tooltip
            cursor={{ stroke: "currentColor", strokeOpacity: 0.3, fill: "currentColor", fillOpacity: 0.06 }}
            content={(props) => (
              <ExploreTooltip
                active={props.active}
                payload={props.payload as readonly TooltipEntry[] | undefined}
                chart={chart}
                interval={interval}
                timezone={timezone}
                formatValue={formatValue}
              />
            )}
          />
          <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={null} />
          {chart.series.map((series, index) => {
            const color = colorFor(index, series.isOther);
            if (type === "bar") {
              return <Bar key={series.id} dataKey={series.id} name={series.name} stackId={stackId} fill={color} isAnimationActive={false} />;
            }
            if (type === "area") {
              return (
                <Area
                  key={series.id}
                  type="linear"
                  dataKey={series.id}
                  name={series.name}
                  stackId={stackId}
                  stroke={color}
                  fill={color}
                  fillOpacity={stacked ? 0.4 : 0.12}
                  connectNulls={false}
                  isAnimationActive={false}
                />
              );
            }
            return (
              <Line
                key={series.id}
                type="linear"
                dataKey={series.id}
                name={series.name}
                stroke={color}
                strokeWidth={2}
                dot={chart.rows.length <= 2}
                connectNulls={false}
                isAnimationActive={false}
              />
            );
          })}
          {perSeriesPrevious &&
            chart.series.map((series, index) => (
              <Line
                key={series.previousId}
                type="linear"
                dataKey={series.previousId}
                name={`${series.name} (previous period)`}
                stroke={series.isOther ? OTHER_COLOR : colorFor(index)}
                strokeWidth={1.5}
                strokeDasharray={DASH}
                strokeOpacity={0.85}
                dot={false}
                // The title says the previous period is dashed: one legend entry per model is enough.
                legendType="none"
                connectNulls={false}
                isAnimationActive={false}
              />
            ))}
          {chart.hasPrevious && stacked && (
            <Line
              type="linear"
              dataKey={PREVIOUS_TOTAL}
              name="Previous period (total)"
              stroke={PREVIOUS_TOTAL_COLOR}
              strokeWidth={2}
              strokeDasharray={DASH}
              dot={false}
              legendType="plainline"
              connectNulls={false}
              isAnimationActive={false}
            />
          )}
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}
