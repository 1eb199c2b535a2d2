/** The headline figures of the period, each with its change from the period before. */
import { ArrowDownRight, ArrowUpRight } from "lucide-react";
import { memo } from "react";
import type { Summary } from "../../api/client";
import { relativeChange } from "../../lib/chartData";
import {
  changeTone,
  formatChange,
  formatCompact,
  formatDuration,
  formatMoney,
  formatNumber,
  formatPercent,
} from "../../lib/format";
import { ErrorState, Skeleton } from "../../components/States";

interface Card {
  label: string;
  value: string;
  title?: string;
  change: number | null;
  /** true: down is good (spend, errors, latency); null: neither. */
  lowerIsBetter: boolean | null;
}

function cards(summary: Summary): Card[] {
  const change = summary.change ?? {};
  const prev = summary.previous;
  const tokens = summary.input_tokens + summary.output_tokens;
  const prevTokens = prev ? prev.input_tokens + prev.output_tokens : null;
  return [
    {
      label: "Spend",
      value: formatMoney(summary.cost, summary.currency),
      title: summary.billed_cost !== summary.cost ? `Billed after markup: ${formatMoney(summary.billed_cost, summary.currency)}` : undefined,
      change: change.cost ?? null,
      lowerIsBetter: true,
    },
    { label: "Requests", value: formatNumber(summary.requests), change: change.requests ?? null, lowerIsBetter: null },
    {
      label: "Tokens",
      value: formatCompact(tokens),
      title: `${formatNumber(summary.input_tokens)} input + ${formatNumber(summary.output_tokens)} output`,
      change: relativeChange(tokens, prevTokens),
      lowerIsBetter: null,
    },
    { label: "Avg cost / request", value: formatMoney(summary.avg_cost, summary.currency), change: change.avg_cost ?? null, lowerIsBetter: true },
    {
      label: "Error rate",
      value: formatPercent(summary.error_rate, undefined, 2),
      title: `${formatNumber(summary.errors)} errors`,
      change: change.error_rate ?? null,
      lowerIsBetter: true,
    },
    { label: "p95 latency", value: formatDuration(summary.latency_p95_ms), change: change.latency_p95_ms ?? null, lowerIsBetter: true },
  ];
}

const TONE = {
  good: "text-emerald-600 dark:text-emerald-400",
  bad: "text-rose-600 dark:text-rose-400",
  neutral: "text-slate-500 dark:text-slate-400",
};

/** Memoised: redrawn when the summary changes, not when another panel's answer arrives. */
export const SummaryCards = memo(function SummaryCards({
  summary,
  isPending,
  ready,
  error,
  onRetry,
}: {
  summary?: Summary;
  isPending: boolean;
  /** The figures belong to the current view (`data-ready`, which bench/ui.py waits for). */
  ready: boolean;
  error: unknown;
  onRetry: () => void;
}) {
  if (error && !summary) return <div className="panel"><ErrorState error={error} onRetry={onRetry} compact /></div>;
  return (
    <section aria-label="Headline figures" data-ready={ready ? "true" : "false"} className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6">
      {summary
        ? cards(summary).map((card) => {
            const tone = changeTone(card.change, card.lowerIsBetter);
            const Arrow = (card.change ?? 0) < 0 ? ArrowDownRight : ArrowUpRight;
            return (
              <div key={card.label} className="panel min-w-0" title={card.title}>
                <p className="truncate text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400">{card.label}</p>
                <p className="mt-1 truncate text-xl font-semibold tabular-nums sm:text-2xl">{card.value}</p>
                <p className={`mt-1 flex items-center gap-1 text-xs tabular-nums ${TONE[tone]}`}>
                  {card.change !== null && <Arrow aria-hidden className="size-3.5" />}
                  <span>{formatChange(card.change)}</span>
                  <span className="text-slate-500 dark:text-slate-400">vs previous period</span>
                </p>
              </div>
            );
          })
        : Array.from({ length: 6 }, (_, index) => (
            <div key={index} className="panel space-y-2" aria-hidden={!isPending}>
              <Skeleton className="h-3 w-20" />
              <Skeleton className="h-7 w-28" />
              <Skeleton className="h-3 w-24" />
            </div>
          ))}
    </section>
  );
});
