/** A budget's spend as a bar: green, amber from 80 % of the limit, red from 100 %, with its thresholds marked. */
import { barWidth, budgetTone, formatBudgetPercent, TONE_BAR_CLASS, TONE_TEXT_CLASS } from "../lib/budgets";

export function BudgetBar({
  name,
  percent,
  thresholds,
  size = "md",
}: {
  /** The budget's name: the bar is announced as "<name> spent". */
  name: string;
  percent: number;
  thresholds: number[];
  size?: "sm" | "md";
}) {
  const tone = budgetTone(percent);
  const text = formatBudgetPercent(percent);
  return (
    <div className="flex items-center gap-3">
      <div
        role="progressbar"
        aria-label={`${name} spent`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(barWidth(percent))}
        aria-valuetext={`${text} of the limit`}
        data-tone={tone}
        className={`relative w-full overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700 ${size === "sm" ? "h-2" : "h-3"}`}
      >
        <div
          data-testid="budget-bar-fill"
          className={`h-full rounded-full transition-[width] motion-reduce:transition-none ${TONE_BAR_CLASS[tone]}`}
          style={{ width: `${barWidth(percent)}%` }}
        />
        {thresholds
          .filter((t) => t > 0 && t < 100)
          .map((t) => (
            <span
              key={t}
              aria-hidden
              title={`${t}%`}
              className="absolute inset-y-0 w-px bg-slate-500/70 dark:bg-slate-300/60"
              style={{ left: `${t}%` }}
            />
          ))}
      </div>
      <span className={`w-12 shrink-0 text-right text-sm font-semibold tabular-nums ${TONE_TEXT_CLASS[tone]}`}>{text}</span>
    </div>
  );
}
