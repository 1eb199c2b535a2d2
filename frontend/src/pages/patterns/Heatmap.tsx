/** Requests or cost by weekday × hour of day (org time zone), as an accessible table of cells. */
import type { Heatmap as HeatmapData, HeatmapMetric } from "../../api/client";
import { EmptyState, ErrorState, Skeleton } from "../../components/States";
import { formatMoney, formatNumber } from "../../lib/format";
import { heatLevel, heatmapGrid, HEATMAP_METRICS, hourLabel, WEEKDAY_SHORT, WEEKDAYS } from "../../lib/patterns";

const LEVEL_CLASSES = [
  "bg-slate-100 dark:bg-slate-800/70",
  "bg-indigo-100 dark:bg-indigo-950",
  "bg-indigo-200 dark:bg-indigo-900",
  "bg-indigo-300 dark:bg-indigo-700",
  "bg-indigo-500 dark:bg-indigo-500",
  "bg-indigo-700 dark:bg-indigo-300",
];

const METRIC_LABELS: Record<HeatmapMetric, string> = { requests: "Requests", cost: "Cost" };

interface Props {
  data?: HeatmapData;
  metric: HeatmapMetric;
  onMetric: (metric: HeatmapMetric) => void;
  isFetching: boolean;
  error: unknown;
  onRetry: () => void;
}

export function Heatmap({ data, metric, onMetric, isFetching, error, onRetry }: Props) {
  const grid = data ? heatmapGrid(data.cells) : null;
  const currency = data?.currency ?? "USD";
  const format = (value: number) =>
    metric === "cost" ? formatMoney(value, currency) : `${formatNumber(value)} ${value === 1 ? "request" : "requests"}`;

  return (
    <section className="panel min-w-0" aria-labelledby="heatmap-title">
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <h2 id="heatmap-title" className="panel-title">
          {METRIC_LABELS[metric]} by weekday and hour
        </h2>
        {data && <span className="text-xs text-slate-500 dark:text-slate-400">{data.timezone}</span>}
        {isFetching && data && <span className="text-xs text-slate-500 dark:text-slate-400">updating…</span>}
        <div role="group" aria-label="Heatmap metric" className="ml-auto inline-flex rounded-md border border-slate-300 p-0.5 dark:border-slate-700">
          {HEATMAP_METRICS.map((option) => (
            <button
              key={option}
              type="button"
              aria-pressed={metric === option}
              onClick={() => onMetric(option)}
              className={`rounded px-2.5 py-1 text-xs font-medium ${
                metric === option ? "bg-indigo-600 text-white" : "text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
              }`}
            >
              {METRIC_LABELS[option]}
            </button>
          ))}
        </div>
      </div>
      {error && !data ? (
        <ErrorState error={error} onRetry={onRetry} />
      ) : !grid ? (
        <Skeleton className="h-56 w-full" />
      ) : grid.total === 0 ? (
        <EmptyState title="Nothing in this period" />
      ) : (
        // Scrollable on small screens; focusable so the keyboard can scroll it too.
        <div className="relative overflow-x-auto" tabIndex={0} role="region" aria-label="Heatmap, scrollable">
          <table className="w-full min-w-[640px] table-fixed border-separate border-spacing-0.5 text-[10px]">
            <caption className="sr-only">
              {METRIC_LABELS[metric]} by weekday (rows) and hour of day (columns) in {data?.timezone}; busiest cell {format(grid.max)}
            </caption>
            <colgroup>
              <col className="w-10" />
            </colgroup>
            <thead>
              <tr>
                <td />
                {Array.from({ length: 24 }, (_, hour) => (
                  <th key={hour} scope="col" className="font-normal text-slate-500 dark:text-slate-400" title={hourLabel(hour)}>
                    <span aria-hidden>{hour % 3 === 0 ? String(hour).padStart(2, "0") : ""}</span>
                    <span className="sr-only">{hourLabel(hour)}</span>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {grid.rows.map((row, index) => (
                <tr key={WEEKDAYS[index]}>
                  <th scope="row" className="pr-1 text-left text-xs font-normal text-slate-500 dark:text-slate-400">
                    <abbr title={WEEKDAYS[index]} className="no-underline">
                      {WEEKDAY_SHORT[index]}
                    </abbr>
                  </th>
                  {row.map((value, hour) => {
                    const text = `${WEEKDAYS[index]} ${hourLabel(hour)}: ${format(value)}`;
                    return (
                      <td
                        key={hour}
                        title={text}
                        data-weekday={index + 1}
                        data-hour={hour}
                        data-value={value}
                        className={`h-6 rounded-sm ${LEVEL_CLASSES[heatLevel(value, grid.max)]}`}
                      >
                        <span className="sr-only">{metric === "cost" ? formatMoney(value, currency) : formatNumber(value)}</span>
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
          <div aria-hidden className="mt-2 flex items-center justify-end gap-1 text-xs text-slate-500 dark:text-slate-400">
            less
            {LEVEL_CLASSES.map((cls) => (
              <span key={cls} className={`inline-block size-3 rounded-sm ${cls}`} />
            ))}
            more
          </div>
        </div>
      )}
    </section>
  );
}
