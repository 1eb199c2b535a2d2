/**
 * Filters on any dimension and on tags, as chips. Pick a dimension, then toggle its most frequent
 * values (suggested by `/usage/breakdown?by=<dimension>` over the current range) or type one.
 * Several values of one dimension mean OR, different dimensions AND, as the API reads them.
 * The header's dimensions stay in the shared view state (they follow you to other pages); the
 * others belong to this page's URL.
 */
import { useQuery } from "@tanstack/react-query";
import { Plus, X } from "lucide-react";
import { useId, useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { DIMENSION_LABELS, EXTRA_FILTER_DIMENSIONS, TAG_PREFIX, toggleExploreFilter, type ExploreState } from "../../lib/explore";
import { FILTER_DIMENSIONS, toApiParams, toggleFilterValue, type FilterDimension, type ViewState } from "../../lib/urlState";
import type { Update } from "./useExplore";

const DIMENSIONS = [...FILTER_DIMENSIONS, ...EXTRA_FILTER_DIMENSIONS] as const;
type Dimension = (typeof DIMENSIONS)[number];
const TAG = "tag";
const STATUS_VALUES = ["ok", "error"];
const SUGGESTIONS_SHOWN = 12;

function isShared(dimension: string): dimension is FilterDimension {
  return (FILTER_DIMENSIONS as readonly string[]).includes(dimension);
}

interface Suggestion {
  value: string;
  label: string;
}

/** The most frequent values of a dimension in the range (every value: no filter applied). */
function useSuggestions(dimension: string | null, view: ViewState, today: string) {
  const params = toApiParams({ ...view, filters: {} }, today);
  if (dimension) params.set("by", dimension);
  params.set("sort", "requests");
  params.set("limit", "50");
  return useQuery({
    queryKey: ["usage", "breakdown", params.toString()],
    queryFn: ({ signal }) => api.breakdown(params, signal),
    enabled: dimension !== null && dimension !== "status",
    staleTime: 60_000,
    select: (data): Suggestion[] =>
      data.rows.filter((row) => row.key !== null).map((row) => ({ value: row.key!, label: row.label ?? row.key! })),
  });
}

interface Props {
  view: ViewState;
  today: string;
  explore: ExploreState;
  updateView: (update: Update<ViewState>) => void;
  updateExplore: (update: Update<ExploreState>) => void;
  /** Clear the filters of both the header and this page in one URL update. */
  clearAll: () => void;
}

interface Chip {
  /** `model`, `team`, `tag.env`, … */
  dimension: string;
  label: string;
  value: string;
}

function dimensionName(dimension: string): string {
  if (dimension.startsWith(TAG_PREFIX)) return `Tag ${dimension.slice(TAG_PREFIX.length)}`;
  return DIMENSION_LABELS[dimension as keyof typeof DIMENSION_LABELS] ?? dimension;
}

export function ExploreFilters({ view, today, explore, updateView, updateExplore, clearAll }: Props) {
  const id = useId();
  const [choice, setChoice] = useState<Dimension | typeof TAG>("model");
  const [tagKey, setTagKey] = useState("");
  const [value, setValue] = useState("");
  const dimension = choice === TAG ? (tagKey.trim() ? `${TAG_PREFIX}${tagKey.trim()}` : null) : choice;
  const suggestions = useSuggestions(dimension, view, today);
  const options: Suggestion[] =
    choice === "status" ? STATUS_VALUES.map((v) => ({ value: v, label: v })) : (suggestions.data ?? []);
  const labels = new Map(options.map((option) => [option.value, option.label]));

  const chips: Chip[] = [
    ...FILTER_DIMENSIONS.flatMap((dim) => (view.filters[dim] ?? []).map((v) => ({ dimension: dim, label: dimensionName(dim), value: v }))),
    ...EXTRA_FILTER_DIMENSIONS.flatMap((dim) => (explore.filters[dim] ?? []).map((v) => ({ dimension: dim, label: dimensionName(dim), value: v }))),
    ...Object.keys(explore.tags)
      .sort()
      .flatMap((key) => (explore.tags[key] ?? []).map((v) => ({ dimension: `${TAG_PREFIX}${key}`, label: `Tag ${key}`, value: v }))),
  ];

  function isActive(dim: string, v: string): boolean {
    return chips.some((chip) => chip.dimension === dim && chip.value === v);
  }

  function toggle(dim: string, v: string) {
    if (isShared(dim)) updateView((current) => toggleFilterValue(current, dim, v));
    else updateExplore((current) => toggleExploreFilter(current, dim, v));
  }

  function add(event: FormEvent) {
    event.preventDefault();
    const trimmed = value.trim();
    if (!trimmed || !dimension) return;
    if (!isActive(dimension, trimmed)) toggle(dimension, trimmed);
    setValue("");
  }

  return (
    <section className="panel space-y-3" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="panel-title">
        Filters
      </h2>
      <form onSubmit={add} className="flex flex-wrap items-center gap-1.5" aria-label="Add a filter">
        <label htmlFor={`${id}-dim`} className="sr-only">
          Filter on
        </label>
        <select
          id={`${id}-dim`}
          className="input"
          value={choice}
          onChange={(event) => {
            setChoice(event.target.value as Dimension | typeof TAG);
            setValue("");
          }}
        >
          {DIMENSIONS.map((dim) => (
            <option key={dim} value={dim}>
              {dimensionName(dim)}
            </option>
          ))}
          <option value={TAG}>Tag…</option>
        </select>
        {choice === TAG && (
          <>
            <label htmlFor={`${id}-tag`} className="sr-only">
              Tag key
            </label>
            <input
              id={`${id}-tag`}
              className="input w-32"
              placeholder="tag key"
              value={tagKey}
              onChange={(event) => setTagKey(event.target.value)}
              autoComplete="off"
            />
          </>
        )}
        <label htmlFor={`${id}-value`} className="sr-only">
          Value
        </label>
        <input
          id={`${id}-value`}
          className="input w-44"
          list={`${id}-options`}
          placeholder="value…"
          value={value}
          onChange={(event) => setValue(event.target.value)}
          autoComplete="off"
          disabled={!dimension}
        />
        <datalist id={`${id}-options`}>
          {options.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label === option.value ? undefined : option.label}
            </option>
          ))}
        </datalist>
        <button type="submit" className="btn-secondary px-2" disabled={!value.trim() || !dimension} aria-label="Add filter">
          <Plus aria-hidden className="size-4" />
        </button>
      </form>

      {dimension && options.length > 0 && (
        <div role="group" aria-label={`Values of ${dimensionName(dimension)}`} className="flex flex-wrap gap-1.5">
          {options.slice(0, SUGGESTIONS_SHOWN).map((option) => {
            const active = isActive(dimension, option.value);
            return (
              <button
                key={option.value}
                type="button"
                aria-pressed={active}
                onClick={() => toggle(dimension, option.value)}
                className={`max-w-56 truncate rounded-full border px-2.5 py-0.5 text-xs ${
                  active
                    ? "border-indigo-600 bg-indigo-600 text-white"
                    : "border-slate-300 text-slate-700 hover:bg-slate-100 dark:border-slate-700 dark:text-slate-200 dark:hover:bg-slate-800"
                }`}
                title={option.label}
              >
                {option.label}
              </button>
            );
          })}
        </div>
      )}

      {chips.length > 0 && (
        <ul className="flex flex-wrap gap-1.5" aria-label="Active filters">
          {chips.map((chip) => (
            <li key={`${chip.dimension}=${chip.value}`}>
              <button
                type="button"
                onClick={() => toggle(chip.dimension, chip.value)}
                className="inline-flex items-center gap-1 rounded-full border border-indigo-200 bg-indigo-50 py-0.5 pl-2.5 pr-1.5 text-xs text-indigo-800 hover:bg-indigo-100 dark:border-indigo-500/30 dark:bg-indigo-500/10 dark:text-indigo-200 dark:hover:bg-indigo-500/20"
                aria-label={`Remove filter ${chip.label} ${chip.value}`}
              >
                <span className="text-indigo-600 dark:text-indigo-300">{chip.label}:</span> {labels.get(chip.value) ?? chip.value}
                <X aria-hidden className="size-3.5" />
              </button>
            </li>
          ))}
          {chips.length > 1 && (
            <li>
              <button type="button" className="px-1.5 text-xs text-slate-600 underline-offset-2 hover:underline dark:text-slate-300" onClick={clearAll}>
                Clear all
              </button>
            </li>
          )}
        </ul>
      )}
    </section>
  );
}
