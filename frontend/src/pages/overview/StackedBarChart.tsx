/**
 * Stacked bars per bucket, and optionally the previous period's total as a dashed line, drawn as
 * plain SVG. The overview is the page everyone lands on: a charting library's code and its
 * rendering were most of its first-load time here (see bench/ui.py and bench/README.md), and a
 * stack of rectangles does not need one. The explore page keeps Recharts for its richer charts.
 *
 * The plot scales with its box (a viewBox of one unit per bucket, stretched), so no measuring is
 * needed before the first draw; text stays HTML. Hover or focus and arrow keys show a bucket's
 * figures.
 */
import { useId, useState, type KeyboardEvent } from "react";
import type { SeriesInfo } from "../../lib/chartData";
import { colorFor } from "../../lib/chartData";
import { PREVIOUS_TOTAL } from "../../lib/explore";
import { ChartTooltip } from "./ChartTooltip";
import { labelEvery, niceTicks } from "./scale";

const PREVIOUS_COLOR = "#64748b";
/** Height of the plot in viewBox units; the x axis has one unit per bucket. */
const H = 100;
const GAP = 0.15;

type Row = Record<string, unknown>;

interface Props {
  rows: Row[];
  series: SeriesInfo[];
  showPrevious: boolean;
  formatValue: (value: number) => string;
  formatAxis: (value: number) => string;
  formatBucket: (start: string) => string;
  label: string;
}

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

export function StackedBarChart({ rows, series, showPrevious, formatValue, formatAxis, formatBucket, label }: Props) {
  const [active, setActive] = useState<number | null>(null);
  const id = useId();
  const n = Math.max(1, rows.length);
  const totals = rows.map((row) => series.reduce((sum, s) => sum + num(row[s.id]), 0));
  const previous = rows.map((row) => (typeof row[PREVIOUS_TOTAL] === "number" ? (row[PREVIOUS_TOTAL] as number) : null));
  const ticks = niceTicks(Math.max(0, ...totals, ...(showPrevious ? previous.map(num) : [])));
  const top = ticks[ticks.length - 1]!;
  const y = (value: number) => H - (value / top) * H;
  const every = labelEvery(rows.length);
  const hasPrevious = showPrevious && previous.some((v) => v !== null);
  const line = previous
    .map((value, i) => (value === null ? null : `${i + 0.5},${y(value).toFixed(3)}`))
    .filter((point): point is string => point !== null)
    .join(" ");

  function onKey(event: KeyboardEvent) {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight" && event.key !== "Home" && event.key !== "End") return;
    event.preventDefault();
    const current = active ?? rows.length - 1;
    const next =
      event.key === "Home" ? 0 : event.key === "End" ? rows.length - 1 : current + (event.key === "ArrowLeft" ? -1 : 1);
    setActive(Math.min(rows.length - 1, Math.max(0, next)));
  }

  const activeRow = active !== null ? rows[active] : undefined;
  const tooltipLeft = active !== null ? ((active + 0.5) / n) * 100 : 0;

  return (
    <div className="flex h-72 flex-col text-slate-500 dark:text-slate-400">
      <div className="relative min-h-0 flex-1">
        {ticks.map((tick) => (
          <span
            key={tick}
            aria-hidden
            className="absolute left-0 w-14 -translate-y-1/2 text-right text-[11px] tabular-nums"
            style={{ top: `calc(0.5rem + (100% - 0.5rem) * ${(1 - tick / top).toFixed(4)})` }}
          >
            {formatAxis(tick)}
          </span>
        ))}
        <div
          className="absolute bottom-0 left-16 right-2 top-2 outline-offset-4"
          role="img"
          aria-label={label}
          aria-describedby={activeRow ? `${id}-tip` : undefined}
          tabIndex={0}
          onKeyDown={onKey}
          onFocus={() => setActive((current) => current ?? rows.length - 1)}
          onBlur={() => setActive(null)}
          onMouseLeave={() => setActive(null)}
        >
          <svg className="absolute inset-0 h-full w-full overflow-visible" viewBox={`0 0 ${n} ${H}`} preserveAspectRatio="none" aria-hidden>
            {ticks.map((tick) => (
              <line key={tick} x1={0} x2={n} y1={y(tick)} y2={y(tick)} stroke="currentColor" strokeOpacity={tick === 0 ? 0.35 : 0.15} vectorEffect="non-scaling-stroke" />
            ))}
            {active !== null && <rect x={active} width={1} y={0} height={H} fill="currentColor" fillOpacity={0.08} />}
            {rows.map((row, i) => {
              let base = 0;
              return (
                <g key={String(row.start)}>
                  {series.map((s, index) => {
                    const value = num(row[s.id]);
                    if (value <= 0) return null;
                    const rect = <rect key={s.id} x={i + GAP / 2} width={1 - GAP} y={y(base + value)} height={(value / top) * H} fill={colorFor(index, s.isOther)} />;
                    base += value;
                    return rect;
                  })}
                  <rect x={i} width={1} y={0} height={H} fill="transparent" onMouseEnter={() => setActive(i)} />
                </g>
              );
            })}
            {hasPrevious && (
              <polyline
                points={line}
                fill="none"
                stroke={PREVIOUS_COLOR}
                strokeWidth={2}
                strokeDasharray="5 4"
                vectorEffect="non-scaling-stroke"
                className="trend-previous"
                pointerEvents="none"
              />
            )}
          </svg>
          {activeRow && (
            <div
              id={`${id}-tip`}
              className="pointer-events-none absolute top-0 z-10 w-max max-w-72"
              style={
                tooltipLeft > 60
                  ? { right: `calc(${100 - tooltipLeft}% + 0.75rem)` }
                  : { left: `calc(${tooltipLeft}% + 0.75rem)` }
              }
            >
              <ChartTooltip
                active
                payload={series.map((s, index) => ({ name: s.name, value: num(activeRow[s.id]), color: colorFor(index, s.isOther) }))}
                label={formatBucket(String(activeRow.start))}
                formatValue={formatValue}
                footer={
                  hasPrevious && typeof activeRow[PREVIOUS_TOTAL] === "number" ? (
                    <p className="mt-1 flex border-t border-dashed border-slate-300 pt-1 text-slate-600 dark:border-slate-600 dark:text-slate-300">
                      Previous period{typeof activeRow.previousStart === "string" ? ` (${formatBucket(activeRow.previousStart)})` : ""}
                      <span className="ml-auto pl-3 tabular-nums">{formatValue(activeRow[PREVIOUS_TOTAL] as number)}</span>
                    </p>
                  ) : undefined
                }
              />
            </div>
          )}
        </div>
      </div>
      <div aria-hidden className="relative ml-16 mr-2 mt-1 h-4 text-[11px]">
        {rows.map((row, i) =>
          i % every === 0 ? (
            <span key={String(row.start)} className="absolute -translate-x-1/2 whitespace-nowrap" style={{ left: `${((i + 0.5) / n) * 100}%` }}>
              {formatBucket(String(row.start))}
            </span>
          ) : null,
        )}
      </div>
      <ul className="mt-2 flex flex-wrap justify-center gap-x-3 gap-y-1 text-xs" aria-label="Legend">
        {series.map((s, index) => (
          <li key={s.id} className="flex min-w-0 items-center gap-1.5">
            <span aria-hidden className="size-2.5 shrink-0 rounded-sm" style={{ background: colorFor(index, s.isOther) }} />
            <span className="max-w-40 truncate text-slate-700 dark:text-slate-200">{s.name}</span>
          </li>
        ))}
        {hasPrevious && (
          <li className="flex items-center gap-1.5">
            <svg aria-hidden width="16" height="4" className="shrink-0">
              <line x1="0" x2="16" y1="2" y2="2" stroke={PREVIOUS_COLOR} strokeWidth="2" strokeDasharray="4 3" />
            </svg>
            <span className="text-slate-700 dark:text-slate-200">Previous period (total)</span>
          </li>
        )}
      </ul>
    </div>
  );
}
