/** The view state of the current URL, and a setter that writes it back (see urlState.ts). */
import { useCallback, useMemo } from "react";
import { useSearchParams } from "react-router";
import { useSession } from "./session";
import { parseViewState, serializeViewState, todayIn, type ViewState } from "./urlState";

export function useViewState() {
  const [params, setParams] = useSearchParams();
  const { organization } = useSession();
  const state = useMemo(() => parseViewState(params), [params]);
  // "Today" is the organisation's, not the browser's: presets then match the API's days.
  const today = todayIn(organization.timezone);

  const setState = useCallback(
    (next: ViewState) => setParams((current) => new URLSearchParams(serializeViewState(next, current))),
    [setParams],
  );

  /**
   * Set or clear page-owned parameters (e.g. `metric`, `sort`), keeping the view state. All in one
   * update: React Router's functional updates within one event see the same starting URL.
   */
  const setExtra = useCallback(
    (changes: Record<string, string | undefined>) =>
      setParams((current) => {
        const next = new URLSearchParams(current);
        for (const [key, value] of Object.entries(changes)) {
          if (value === undefined) next.delete(key);
          else next.set(key, value);
        }
        return next;
      }),
    [setParams],
  );

  return { state, setState, today, params, setExtra };
}
