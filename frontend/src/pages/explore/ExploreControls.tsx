/** What the chart shows: metric, grouping (a dimension or a tag key), interval, chart type, comparison. */
import { useEffect, useId, useState, type FormEvent } from "react";
import type { Interval, TimeseriesMetric } from "../../api/client";
import {
  CHART_LABELS,
  CHART_TYPES,
  DIMENSION_LABELS,
  EXPLORE_METRICS,
  GROUP_DIMENSIONS,
  INTERVAL_LABELS,
  INTERVALS,
  isTagDimension,
  TAG_PREFIX,
  type ExploreState,
} from "../../lib/explore";

const NO_GROUP = "";
const TAG_GROUP = "tag";

interface Props {
  explore: ExploreState;
  /** Fields to change, applied to the latest state. */
  onChange: (change: Partial<ExploreState>) => void;
  /** The interval used when none is chosen (from the range's length). */
  autoInterval: Interval;
}

export function ExploreControls({ explore, onChange, autoInterval }: Props) {
  const id = useId();
  const groupIsTag = explore.groupBy !== null && isTagDimension(explore.groupBy);
  const [choosingTag, setChoosingTag] = useState(groupIsTag);
  const [tagKey, setTagKey] = useState(groupIsTag ? explore.groupBy!.slice(TAG_PREFIX.length) : "");

  useEffect(() => {
    const isTag = explore.groupBy !== null && isTagDimension(explore.groupBy);
    if (isTag) setTagKey(explore.groupBy!.slice(TAG_PREFIX.length));
    setChoosingTag((current) => isTag || (current && explore.groupBy === null));
  }, [explore.groupBy]);

  const groupValue = choosingTag || groupIsTag ? TAG_GROUP : (explore.groupBy ?? NO_GROUP);

  function groupByTag(event: FormEvent) {
    event.preventDefault();
    const key = tagKey.trim();
    if (key) onChange({ groupBy: `${TAG_PREFIX}${key}` });
  }

  return (
    <div className="flex flex-wrap items-end gap-3">
      <div className="flex flex-col gap-1">
        <label htmlFor={`${id}-metric`} className="text-xs font-medium text-slate-600 dark:text-slate-300">
          Metric
        </label>
        <select
          id={`${id}-metric`}
          className="input"
          value={explore.metric}
          onChange={(event) => onChange({ metric: event.target.value as TimeseriesMetric })}
        >
          {EXPLORE_METRICS.map((metric) => (
            <option key={metric.id} value={metric.id}>
              {metric.label}
            </option>
          ))}
        </select>
      </div>

      <div className="flex flex-col gap-1">
        <label htmlFor={`${id}-group`} className="text-xs font-medium text-slate-600 dark:text-slate-300">
          Group by
        </label>
        <div className="flex items-center gap-1.5">
          <select
            id={`${id}-group`}
            className="input"
            value={groupValue}
            onChange={(event) => {
              const value = event.target.value;
              if (value === TAG_GROUP) {
                setChoosingTag(true);
                if (tagKey.trim()) onChange({ groupBy: `${TAG_PREFIX}${tagKey.trim()}` });
                return;
              }
              setChoosingTag(false);
              onChange({ groupBy: value === NO_GROUP ? null : value });
            }}
          >
            <option value={NO_GROUP}>Nothing (one series)</option>
            {GROUP_DIMENSIONS.map((dimension) => (
              <option key={dimension} value={dimension}>
                {DIMENSION_LABELS[dimension]}
              </option>
            ))}
            <option value={TAG_GROUP}>Tag…</option>
          </select>
          {groupValue === TAG_GROUP && (
            <form onSubmit={groupByTag} className="flex items-center gap-1.5" aria-label="Group by a tag">
              <label htmlFor={`${id}-tag-key`} className="sr-only">
                Tag key to group by
              </label>
              <input
                id={`${id}-tag-key`}
                className="input w-32"
                placeholder="tag key, e.g. env"
                value={tagKey}
                onChange={(event) => setTagKey(event.target.value)}
                autoComplete="off"
              />
              <button type="submit" className="btn-secondary" disabled={!tagKey.trim()}>
                Group
              </button>
            </form>
          )}
        </div>
      </div>

      <div className="flex flex-col gap-1">
        <label htmlFor={`${id}-interval`} className="text-xs font-medium text-slate-600 dark:text-slate-300">
          Interval
        </label>
        <select
          id={`${id}-interval`}
          className="input"
          value={explore.interval ?? ""}
          onChange={(event) => onChange({ interval: (event.target.value || null) as Interval | null })}
        >
          <option value="">Auto ({INTERVAL_LABELS[autoInterval].toLowerCase()})</option>
          {INTERVALS.map((interval) => (
            <option key={interval} value={interval}>
              {INTERVAL_LABELS[interval]}
            </option>
          ))}
        </select>
      </div>

      <div role="group" aria-label="Chart type" className="inline-flex rounded-md border border-slate-300 p-0.5 dark:border-slate-700">
        {CHART_TYPES.map((chart) => (
          <button
            key={chart}
            type="button"
            aria-pressed={explore.chart === chart}
            onClick={() => onChange({ chart })}
            className={`rounded px-2.5 py-1 text-xs font-medium ${
              explore.chart === chart
                ? "bg-indigo-600 text-white"
                : "text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
            }`}
          >
            {CHART_LABELS[chart]}
          </button>
        ))}
      </div>

      <label className="inline-flex items-center gap-2 py-1.5 text-sm">
        <input
          type="checkbox"
          className="size-4 accent-indigo-600"
          checked={explore.compare}
          onChange={(event) => onChange({ compare: event.target.checked })}
        />
        Compare with the previous period
      </label>
    </div>
  );
}
