/** Logs: every event of the range and filters, sorted by the server, one page at a time. */
import { keepPreviousData, useInfiniteQuery } from "@tanstack/react-query";
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable } from "@tanstack/react-table";
import { ArrowDown, ArrowUp, ArrowUpDown, Download } from "lucide-react";
import { useCallback, useMemo, useState } from "react";
import { api, type EventPublic, type EventSort, type SortOrder } from "../api/client";
import { useProjects } from "../api/queries";
import { FilterBar } from "../components/FilterBar";
import { EmptyState, ErrorState, Skeleton, Spinner } from "../components/States";
import { formatDateTime, formatDuration, formatMoney, formatNumber } from "../lib/format";
import { useSession } from "../lib/session";
import { useViewState } from "../lib/useViewState";
import { resolveRange, toEventsApiParams } from "../lib/urlState";
import { EventDrawer } from "./logs/EventDrawer";
import { MAX_ROWS, useCsvExport } from "./logs/useCsvExport";

const SORTS: EventSort[] = ["ts", "cost", "latency", "tokens"];
const PAGE_SIZE = 50;

function parseSort(value: string | null): EventSort {
  return SORTS.includes(value as EventSort) ? (value as EventSort) : "ts";
}

const column = createColumnHelper<EventPublic>();

export default function LogsPage() {
  const { state, today, params, setExtra } = useViewState();
  const { organization } = useSession();
  const projects = useProjects();
  const sort = parseSort(params.get("sort"));
  const order: SortOrder = params.get("order") === "asc" ? "asc" : "desc";
  const [selected, setSelected] = useState<EventPublic | null>(null);
  const csv = useCsvExport();

  const projectNames = useMemo(() => new Map((projects.data ?? []).map((p) => [p.id, p.name])), [projects.data]);
  const apiParams = useMemo(() => {
    const query = toEventsApiParams(state, today, organization.timezone);
    query.set("sort", sort);
    query.set("order", order);
    return query;
  }, [state, today, organization.timezone, sort, order]);

  const events = useInfiniteQuery({
    queryKey: ["events", apiParams.toString()],
    queryFn: ({ pageParam, signal }) => {
      const query = new URLSearchParams(apiParams);
      query.set("limit", String(PAGE_SIZE));
      if (pageParam) query.set("cursor", pageParam);
      return api.events(query, signal);
    },
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor,
    placeholderData: keepPreviousData,
    staleTime: 15_000,
  });
  const rows = useMemo(() => events.data?.pages.flatMap((page) => page.items) ?? [], [events.data]);

  const setSort = useCallback(
    (next: EventSort) => {
      // Clicking the sorted column flips the order; another column starts descending.
      const nextOrder: SortOrder = next === sort && order === "desc" ? "asc" : "desc";
      setExtra({ sort: next === "ts" ? undefined : next, order: nextOrder === "desc" ? undefined : nextOrder });
    },
    [sort, order, setExtra],
  );

  const tz = organization.timezone;
  const columns = useMemo(
    () => [
      column.accessor("ts", {
        header: "Time",
        meta: { sort: "ts" },
        cell: (info) => (
          <button
            type="button"
            className="whitespace-nowrap text-left font-medium text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300"
            onClick={() => setSelected(info.row.original)}
            aria-label={`Details of the ${info.row.original.model} call at ${formatDateTime(info.getValue(), tz)}`}
          >
            {formatDateTime(info.getValue(), tz)}
          </button>
        ),
      }),
      column.accessor("model", { header: "Model", cell: (info) => <span className="whitespace-nowrap">{info.getValue()}</span> }),
      column.accessor("provider", { header: "Provider" }),
      column.accessor((e) => projectNames.get(e.project_id) ?? e.project_id.slice(0, 8), { id: "project", header: "Project" }),
      column.accessor("feature", { header: "Feature", cell: (info) => info.getValue() ?? "—" }),
      column.accessor("user", { header: "User", cell: (info) => info.getValue() ?? "—" }),
      column.accessor("status", {
        header: "Status",
        cell: (info) =>
          info.getValue() === "ok" ? (
            <span className="text-emerald-700 dark:text-emerald-400">ok</span>
          ) : (
            <span className="whitespace-nowrap text-rose-700 dark:text-rose-400">{info.row.original.error_type ?? "error"}</span>
          ),
      }),
      column.accessor((e) => e.input_tokens + e.output_tokens, {
        id: "tokens",
        header: "Tokens",
        meta: { sort: "tokens", numeric: true },
        cell: (info) => (
          <span title={`${formatNumber(info.row.original.input_tokens)} in / ${formatNumber(info.row.original.output_tokens)} out`}>
            {formatNumber(info.getValue())}
          </span>
        ),
      }),
      column.accessor("cost", {
        header: "Cost",
        meta: { sort: "cost", numeric: true },
        cell: (info) => (
          <span className={info.row.original.price_source === "unknown" ? "text-amber-600 dark:text-amber-400" : ""} title={info.row.original.price_source === "unknown" ? "No known price" : undefined}>
            {formatMoney(info.getValue(), info.row.original.currency)}
          </span>
        ),
      }),
      column.accessor("latency_ms", {
        header: "Latency",
        meta: { sort: "latency", numeric: true },
        cell: (info) => formatDuration(info.getValue()),
      }),
    ],
    [projectNames, tz],
  );

  const table = useReactTable({ data: rows, columns, getCoreRowModel: getCoreRowModel(), manualSorting: true });
  const range = resolveRange(state, today);

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <div>
          <h1 className="text-xl font-semibold">Logs</h1>
          <p className="text-sm text-slate-500 dark:text-slate-400">
            {range.from} – {range.to} · {state.project ?? "all projects"} · times in {tz}
          </p>
        </div>
        <div className="flex flex-wrap items-center gap-2">
          <FilterBar />
          {csv.state.status === "running" ? (
            <button type="button" className="btn-secondary" onClick={csv.cancel}>
              <Spinner label={`Exporting ${formatNumber(csv.state.rows)} rows`} /> Cancel
            </button>
          ) : (
            <button type="button" className="btn-secondary" onClick={() => csv.start(apiParams, `events-${range.from}-${range.to}.csv`)} disabled={rows.length === 0}>
              <Download aria-hidden className="size-4" /> Export CSV
            </button>
          )}
        </div>
      </div>
      {csv.state.status === "done" && (
        <p role="status" className="text-sm text-slate-600 dark:text-slate-300">
          Exported {formatNumber(csv.state.rows)} events{csv.state.truncated && ` (stopped at ${formatNumber(MAX_ROWS)}: narrow the range or filters for the rest)`}.
        </p>
      )}
      {csv.state.status === "error" && (
        <p role="alert" className="text-sm text-rose-700 dark:text-rose-300">
          The export failed: {csv.state.message}
        </p>
      )}

      <div className="panel overflow-hidden p-0">
        {events.isError && rows.length === 0 ? (
          <ErrorState error={events.error} onRetry={() => events.refetch()} />
        ) : events.isPending ? (
          <div className="space-y-2 p-4" aria-busy="true">
            {Array.from({ length: 8 }, (_, i) => (
              <Skeleton key={i} className="h-6 w-full" />
            ))}
          </div>
        ) : rows.length === 0 ? (
          <EmptyState title="No events match">Pick a longer range or clear the filters.</EmptyState>
        ) : (
          <div className={`overflow-x-auto ${events.isPlaceholderData ? "opacity-60" : ""}`}>
            <table className="w-full text-sm">
              <caption className="sr-only">Usage events, sorted by {sort} {order === "desc" ? "descending" : "ascending"}</caption>
              <thead className="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500 dark:bg-slate-800/60 dark:text-slate-400">
                {table.getHeaderGroups().map((group) => (
                  <tr key={group.id}>
                    {group.headers.map((header) => {
                      const meta = header.column.columnDef.meta as { sort?: EventSort; numeric?: boolean } | undefined;
                      const active = meta?.sort === sort;
                      const Icon = active ? (order === "desc" ? ArrowDown : ArrowUp) : ArrowUpDown;
                      return (
                        <th
                          key={header.id}
                          scope="col"
                          className={`px-3 py-2 font-medium ${meta?.numeric ? "text-right" : ""}`}
                          aria-sort={active ? (order === "desc" ? "descending" : "ascending") : undefined}
                        >
                          {meta?.sort ? (
                            <button type="button" onClick={() => setSort(meta.sort!)} className={`inline-flex items-center gap-1 uppercase ${active ? "text-slate-900 dark:text-slate-100" : ""}`}>
                              {flexRender(header.column.columnDef.header, header.getContext())}
                              <Icon aria-hidden className="size-3.5" />
                            </button>
                          ) : (
                            flexRender(header.column.columnDef.header, header.getContext())
                          )}
                        </th>
                      );
                    })}
                  </tr>
                ))}
              </thead>
              <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                {table.getRowModel().rows.map((row) => (
                  <tr key={row.id} className="hover:bg-slate-50 dark:hover:bg-slate-800/40">
                    {row.getVisibleCells().map((cell) => {
                      const meta = cell.column.columnDef.meta as { numeric?: boolean } | undefined;
                      return (
                        <td key={cell.id} className={`px-3 py-1.5 ${meta?.numeric ? "text-right tabular-nums" : ""}`}>
                          {flexRender(cell.column.columnDef.cell, cell.getContext())}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {rows.length > 0 && (
          <div className="flex flex-wrap items-center gap-3 border-t border-slate-200 px-4 py-3 text-sm dark:border-slate-800">
            <span className="text-slate-500 dark:text-slate-400">{formatNumber(rows.length)} events shown</span>
            {events.isFetchNextPageError && <span className="text-rose-700 dark:text-rose-300">Could not load more.</span>}
            {events.hasNextPage ? (
              <button type="button" className="btn-secondary ml-auto" onClick={() => events.fetchNextPage()} disabled={events.isFetchingNextPage}>
                {events.isFetchingNextPage ? <Spinner label="Loading" /> : "Load more"}
              </button>
            ) : (
              <span className="ml-auto text-slate-500 dark:text-slate-400">End of the list</span>
            )}
          </div>
        )}
      </div>

      {selected && (
        <EventDrawer
          event={selected}
          projectName={projectNames.get(selected.project_id) ?? selected.project_id}
          timezone={tz}
          onClose={() => setSelected(null)}
        />
      )}
    </div>
  );
}
