/** The figure of each series over the whole period (and the previous one), exportable as CSV. */
import { Download } from "lucide-react";
import { colorFor } from "../../lib/chartData";
import { pointsCsv, totalsCsv, type ExploreChart, type MetricInfo, type TotalRow } from "../../lib/explore";
import { changeTone, formatChange, formatPercent } from "../../lib/format";
import { downloadText } from "./download";

const TONE = {
  good: "text-emerald-700 dark:text-emerald-400",
  bad: "text-rose-700 dark:text-rose-400",
  neutral: "text-slate-600 dark:text-slate-300",
};
const NUMERIC = "px-3 py-2 text-right tabular-nums";

interface Props {
  rows: TotalRow[];
  chart: ExploreChart;
  metric: MetricInfo;
  compare: boolean;
  currency: string;
  format: (value: number | null) => string;
  /** Why a figure is missing, for rates and percentiles the API gives per group only. */
  missingHint?: string;
  /** For the file names: the range, e.g. "2026-03-01-2026-03-30". */
  fileStem: string;
}

export function TotalsTable({ rows, chart, metric, compare, currency, format, missingHint, fileStem }: Props) {
  const seriesIndex = new Map(chart.series.map((series, index) => [series.id, index]));
  return (
    <section className="panel min-w-0" aria-labelledby="explore-totals-title">
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <h2 id="explore-totals-title" className="panel-title">
          {metric.additive ? "Totals" : "Over the whole period"}
        </h2>
        <div className="ml-auto flex flex-wrap gap-2">
          <button
            type="button"
            className="btn-secondary"
            onClick={() => downloadText(totalsCsv(rows, metric.id, compare, currency), `explore-${metric.id}-totals-${fileStem}.csv`)}
          >
            <Download aria-hidden className="size-4" />
            Export CSV
          </button>
          <button
            type="button"
            className="btn-secondary"
            onClick={() => downloadText(pointsCsv(chart), `explore-${metric.id}-points-${fileStem}.csv`)}
          >
            <Download aria-hidden className="size-4" />
            Export points
          </button>
        </div>
      </div>
      <div className="overflow-x-auto">
        <table className="w-full min-w-[28rem] text-sm" aria-describedby={missingHint ? "explore-totals-hint" : undefined}>
          <thead className="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-600 dark:border-slate-800 dark:text-slate-300">
            <tr>
              <th scope="col" className="px-3 py-2 text-left font-medium">
                Series
              </th>
              <th scope="col" className={`${NUMERIC} font-medium`}>
                {metric.label}
              </th>
              {compare && (
                <>
                  <th scope="col" className={`${NUMERIC} font-medium`}>
                    Previous period
                  </th>
                  <th scope="col" className={`${NUMERIC} font-medium`}>
                    Change
                  </th>
                </>
              )}
              {metric.additive && (
                <th scope="col" className={`${NUMERIC} font-medium`}>
                  Share
                </th>
              )}
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {rows.map((row) => {
              const index = seriesIndex.get(row.id);
              const isAll = row.id === "all";
              return (
                <tr key={row.id} className={isAll ? "font-semibold" : undefined}>
                  <th scope="row" className="max-w-72 px-3 py-2 text-left font-normal">
                    <span className="flex min-w-0 items-center gap-2">
                      {index !== undefined && (
                        <span aria-hidden className="size-2.5 shrink-0 rounded-sm" style={{ background: colorFor(index, row.isOther) }} />
                      )}
                      <span className={`truncate ${isAll ? "font-semibold" : ""}`} title={row.name}>
                        {row.name}
                      </span>
                    </span>
                  </th>
                  <td className={NUMERIC}>{format(row.value)}</td>
                  {compare && (
                    <>
                      <td className={NUMERIC}>{format(row.previous)}</td>
                      <td className={`${NUMERIC} ${TONE[changeTone(row.change, metric.lowerIsBetter)]}`}>{formatChange(row.change)}</td>
                    </>
                  )}
                  {metric.additive && <td className={NUMERIC}>{formatPercent(row.share)}</td>}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {missingHint && (
        <p id="explore-totals-hint" className="mt-2 text-xs text-slate-600 dark:text-slate-300">
          {missingHint}
        </p>
      )}
    </section>
  );
}
