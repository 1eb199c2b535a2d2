/** Date-range presets and a custom range; writes the choice to the URL. */
import { useEffect, useId, useState } from "react";
import { useViewState } from "../lib/useViewState";
import { RANGE_LABELS, RANGE_PRESETS, resolveRange, withRange, type RangePreset } from "../lib/urlState";

export function DateRangePicker() {
  const { state, setState, today } = useViewState();
  const resolved = resolveRange(state, today);
  const [custom, setCustom] = useState(resolved);
  const [editing, setEditing] = useState(false);
  const id = useId();

  useEffect(() => setCustom(resolveRange(state, today)), [state, today]);

  const showCustom = state.range === "custom" || editing;
  const valid = custom.from !== "" && custom.to !== "" && custom.from <= custom.to;

  return (
    <div className="flex flex-wrap items-center gap-2">
      <label htmlFor={`${id}-preset`} className="sr-only">
        Date range
      </label>
      <select
        id={`${id}-preset`}
        className="input"
        value={editing ? "custom" : state.range}
        onChange={(event) => {
          const range = event.target.value as RangePreset;
          if (range === "custom") setEditing(true);
          else {
            setEditing(false);
            setState(withRange(state, range));
          }
        }}
      >
        {RANGE_PRESETS.map((preset) => (
          <option key={preset} value={preset}>
            {RANGE_LABELS[preset]}
          </option>
        ))}
      </select>
      {showCustom && (
        <form
          className="flex flex-wrap items-center gap-1.5"
          onSubmit={(event) => {
            event.preventDefault();
            if (!valid) return;
            setEditing(false);
            setState(withRange(state, "custom", custom));
          }}
        >
          <label htmlFor={`${id}-from`} className="sr-only">
            From
          </label>
          <input
            id={`${id}-from`}
            type="date"
            className="input w-36"
            value={custom.from}
            max={today}
            onChange={(event) => setCustom({ ...custom, from: event.target.value })}
          />
          <span aria-hidden className="text-slate-400">
            –
          </span>
          <label htmlFor={`${id}-to`} className="sr-only">
            To
          </label>
          <input
            id={`${id}-to`}
            type="date"
            className="input w-36"
            value={custom.to}
            onChange={(event) => setCustom({ ...custom, to: event.target.value })}
          />
          <button type="submit" className="btn-secondary" disabled={!valid}>
            Apply
          </button>
        </form>
      )}
    </div>
  );
}
