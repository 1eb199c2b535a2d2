/**
 * Filters as removable chips, and a small form to add one: pick a dimension, type or pick a value
 * (suggestions are the dimension's top values in the current range). Several values of one
 * dimension mean OR, different dimensions AND, as the API reads them.
 */
import { useQuery } from "@tanstack/react-query";
import { Plus, X } from "lucide-react";
import { useId, useState, type FormEvent } from "react";
import { api } from "../api/client";
import { useViewState } from "../lib/useViewState";
import { FILTER_DIMENSIONS, toApiParams, toggleFilterValue, type FilterDimension, type ViewState } from "../lib/urlState";

const LABELS: Record<FilterDimension, string> = {
  model: "Model",
  provider: "Provider",
  feature: "Feature",
  user: "User",
  status: "Status",
};

function useSuggestions(dimension: FilterDimension, state: ViewState, today: string) {
  const params = toApiParams({ ...state, filters: {} }, today);
  params.set("by", dimension);
  params.set("sort", "requests");
  params.set("limit", "50");
  return useQuery({
    queryKey: ["usage", "breakdown", params.toString()],
    queryFn: ({ signal }) => api.breakdown(params, signal),
    enabled: dimension !== "status",
    staleTime: 60_000,
    select: (data) => data.rows.map((row) => row.key).filter((key): key is string => !!key),
  });
}

export function FilterBar() {
  const { state, setState, today } = useViewState();
  const [dimension, setDimension] = useState<FilterDimension>("model");
  const [value, setValue] = useState("");
  const suggestions = useSuggestions(dimension, state, today);
  const id = useId();
  const options = dimension === "status" ? ["ok", "error"] : (suggestions.data ?? []);

  function add(event: FormEvent) {
    event.preventDefault();
    const trimmed = value.trim();
    if (!trimmed) return;
    if (!(state.filters[dimension] ?? []).includes(trimmed)) setState(toggleFilterValue(state, dimension, trimmed));
    setValue("");
  }

  const chips = FILTER_DIMENSIONS.flatMap((dim) => (state.filters[dim] ?? []).map((v) => ({ dim, value: v })));

  return (
    <div className="flex flex-wrap items-center gap-2">
      <form onSubmit={add} className="flex items-center gap-1.5" aria-label="Add a filter">
        <label htmlFor={`${id}-dim`} className="sr-only">
          Filter on
        </label>
        <select id={`${id}-dim`} className="input" value={dimension} onChange={(event) => setDimension(event.target.value as FilterDimension)}>
          {FILTER_DIMENSIONS.map((dim) => (
            <option key={dim} value={dim}>
              {LABELS[dim]}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-value`} className="sr-only">
          Value
        </label>
        {dimension === "status" ? (
          <select id={`${id}-value`} className="input" value={value} onChange={(event) => setValue(event.target.value)}>
            <option value="">Choose…</option>
            {options.map((option) => (
              <option key={option} value={option}>
                {option}
              </option>
            ))}
          </select>
        ) : (
          <>
            <input
              id={`${id}-value`}
              className="input w-44"
              list={`${id}-options`}
              placeholder={`${LABELS[dimension]}…`}
              value={value}
              onChange={(event) => setValue(event.target.value)}
              autoComplete="off"
            />
            <datalist id={`${id}-options`}>
              {options.map((option) => (
                <option key={option} value={option} />
              ))}
            </datalist>
          </>
        )}
        <button type="submit" className="btn-secondary px-2" disabled={!value.trim()} aria-label="Add filter">
          <Plus aria-hidden className="size-4" />
        </button>
      </form>
      <ul className="flex flex-wrap gap-1.5" aria-label="Active filters">
        {chips.map(({ dim, value: chip }) => (
          <li key={`${dim}=${chip}`}>
            <button
              type="button"
              onClick={() => setState(toggleFilterValue(state, dim, chip))}
              className="inline-flex items-center gap-1 rounded-full border border-indigo-200 bg-indigo-50 py-0.5 pl-2.5 pr-1.5 text-xs text-indigo-800 hover:bg-indigo-100 dark:border-indigo-500/30 dark:bg-indigo-500/10 dark:text-indigo-200 dark:hover:bg-indigo-500/20"
              aria-label={`Remove filter ${LABELS[dim]} ${chip}`}
            >
              <span className="text-indigo-500 dark:text-indigo-300">{LABELS[dim]}:</span> {chip}
              <X aria-hidden className="size-3.5" />
            </button>
          </li>
        ))}
        {chips.length > 1 && (
          <li>
            <button type="button" className="px-1.5 text-xs text-slate-500 underline-offset-2 hover:underline dark:text-slate-400" onClick={() => setState({ ...state, filters: {} })}>
              Clear all
            </button>
          </li>
        )}
      </ul>
    </div>
  );
}
