/**
 * The explore page's own URL state (see lib/explore.ts), and updates of it and of the shared view
 * state that each start from the latest URL.
 *
 * React Router's `setSearchParams` starts from the URL of the last render, and a navigation takes
 * a moment to render: two quick changes (pick a grouping, then an interval) would each start from
 * the same URL and the second would undo the first. So the URL last asked for is remembered until
 * the next render, and every change is a function of the state it starts from.
 */
import { useCallback, useEffect, useMemo, useRef } from "react";
import { useSearchParams } from "react-router";
import { parseExplore, serializeExplore, type ExploreState } from "../../lib/explore";
import { parseViewState, serializeViewState, type ViewState } from "../../lib/urlState";

export type Update<T> = (current: T) => T;

export function useExplore() {
  const [params, setParams] = useSearchParams();
  const explore = useMemo(() => parseExplore(params), [params]);
  const asked = useRef<string | null>(null);
  useEffect(() => {
    asked.current = null;
  }, [params]);

  const change = useCallback(
    (next: (current: URLSearchParams) => URLSearchParams) => {
      const result = next(new URLSearchParams(asked.current ?? params.toString()));
      asked.current = result.toString();
      setParams(result);
    },
    [params, setParams],
  );
  const updateExplore = useCallback(
    (update: Update<ExploreState>) => change((current) => serializeExplore(update(parseExplore(current)), current)),
    [change],
  );
  const updateView = useCallback(
    (update: Update<ViewState>) => change((current) => new URLSearchParams(serializeViewState(update(parseViewState(current)), current))),
    [change],
  );
  /** Both at once (e.g. clear every filter): one URL update. */
  const updateBoth = useCallback(
    (view: Update<ViewState>, page: Update<ExploreState>) =>
      change((current) => {
        const withView = new URLSearchParams(serializeViewState(view(parseViewState(current)), current));
        return serializeExplore(page(parseExplore(withView)), withView);
      }),
    [change],
  );
  return { explore, updateExplore, updateView, updateBoth };
}
