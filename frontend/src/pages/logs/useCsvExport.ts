/**
 * CSV of every event of the current filter, built in the browser by paging through the events
 * API (1,000 per request) and downloaded as one file. Stops at MAX_ROWS; a server-side export
 * (reports/) is the way for more.
 */
import { useCallback, useRef, useState } from "react";
import { api } from "../../api/client";
import { eventsCsvHeader, eventsCsvRows } from "../../lib/csv";

export const MAX_ROWS = 100_000;

export type ExportState = { status: "idle" } | { status: "running"; rows: number } | { status: "done"; rows: number; truncated: boolean } | { status: "error"; message: string };

export function useCsvExport() {
  const [state, setState] = useState<ExportState>({ status: "idle" });
  const controller = useRef<AbortController | null>(null);

  const start = useCallback(async (params: URLSearchParams, filename: string) => {
    controller.current?.abort();
    const abort = new AbortController();
    controller.current = abort;
    const parts: string[] = [eventsCsvHeader()];
    let rows = 0;
    let cursor: string | null = null;
    setState({ status: "running", rows });
    try {
      do {
        const query = new URLSearchParams(params);
        query.set("limit", "1000");
        if (cursor) query.set("cursor", cursor);
        const page = await api.events(query, abort.signal);
        parts.push(eventsCsvRows(page.items));
        rows += page.items.length;
        cursor = page.next_cursor;
        setState({ status: "running", rows });
      } while (cursor && rows < MAX_ROWS);
      const url = URL.createObjectURL(new Blob(parts, { type: "text/csv;charset=utf-8" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = filename;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setState({ status: "done", rows, truncated: cursor !== null });
    } catch (error) {
      if (abort.signal.aborted) setState({ status: "idle" });
      else setState({ status: "error", message: error instanceof Error ? error.message : String(error) });
    }
  }, []);

  const cancel = useCallback(() => controller.current?.abort(), []);
  return { state, start, cancel };
}
