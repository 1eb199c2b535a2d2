/** A tooltip that follows the theme (Recharts' default is white on white in dark mode). */
import type { ReactNode } from "react";

interface Entry {
  name?: string | number;
  value?: number | string | readonly (number | string)[];
  color?: string;
  dataKey?: string | number | ((obj: unknown) => unknown);
}

export function ChartTooltip({
  active,
  payload,
  label,
  formatValue,
  formatLabel,
  showTotal = true,
  footer,
}: {
  active?: boolean;
  payload?: readonly Entry[];
  label?: ReactNode;
  formatValue: (value: number) => string;
  formatLabel?: (label: unknown) => string;
  /** A total only means something for stacked parts (costs, counts), not for percentiles. */
  showTotal?: boolean;
  /** Below the entries, e.g. the previous period's figure. */
  footer?: ReactNode;
}) {
  if (!active || !payload || (payload.length === 0 && !footer)) return null;
  const entries = payload.filter((entry) => typeof entry.value === "number" && entry.value !== 0);
  const total = entries.reduce((sum, entry) => sum + (entry.value as number), 0);
  return (
    <div className="rounded-md border border-slate-200 bg-white px-3 py-2 text-xs shadow-lg dark:border-slate-700 dark:bg-slate-900">
      {label !== undefined && <p className="mb-1 font-medium">{formatLabel ? formatLabel(label) : String(label)}</p>}
      <ul className="space-y-0.5">
        {entries
          .slice()
          .reverse()
          .map((entry) => (
            <li key={String(entry.name)} className="flex items-center gap-2">
              <span aria-hidden className="size-2 rounded-sm" style={{ background: entry.color }} />
              <span className="max-w-48 truncate">{entry.name}</span>
              <span className="ml-auto pl-3 tabular-nums">{formatValue(entry.value as number)}</span>
            </li>
          ))}
      </ul>
      {showTotal && entries.length > 1 && (
        <p className="mt-1 flex border-t border-slate-200 pt-1 font-medium dark:border-slate-700">
          Total <span className="ml-auto pl-3 tabular-nums">{formatValue(total)}</span>
        </p>
      )}
      {footer}
    </div>
  );
}
