/** Environmental impact: energy, emissions, water and the restoration equivalent, by model. */
import { Link } from "react-router";
import { Bar, BarChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api } from "../api/client";
import { useAnalytics } from "../api/queries";
import { FilterBar } from "../components/FilterBar";
import { CardsAndChartSkeleton, EmptyState, ErrorState, NoCallsPanel } from "../components/States";
import { colorFor } from "../lib/chartData";
import { formatNumber, formatPercent } from "../lib/format";
import { formatQuantity, impactBars, impactCoverage, modelsWithoutImpact } from "../lib/impact";
import { useSession } from "../lib/session";
import { useViewState } from "../lib/useViewState";
import { RANGE_LABELS, resolveRange, serializeViewState, toApiParams } from "../lib/urlState";
import { ChartTooltip } from "./overview/ChartTooltip";

const NUMERIC = "px-3 py-2 text-right tabular-nums";

function Card({ label, value, hint }: { label: string; value: React.ReactNode; hint?: React.ReactNode }) {
  return (
    <div className="panel">
      <p className="text-sm text-slate-500 dark:text-slate-400">{label}</p>
      <p className="mt-1 text-2xl font-semibold tabular-nums">{value}</p>
      {hint && <p className="mt-0.5 text-xs text-slate-500 dark:text-slate-400">{hint}</p>}
    </div>
  );
}

export default function ImpactPage() {
  const { state, today } = useViewState();
  const { organization } = useSession();
  const range = resolveRange(state, today);
  const query = toApiParams(state, today);
  query.set("by", "model");
  const impact = useAnalytics("impact", query, api.impact);
  const data = impact.data;
  const total = data?.total;
  const rows = data?.rows ?? [];
  const bars = impactBars(rows);
  const unknown = modelsWithoutImpact(rows);
  const coverage = total ? impactCoverage(total) : null;
  const factor = data?.m2_per_kg_co2e ?? organization.m2_per_kg_co2e;
  const zone = organization.electricity_zone;
  const rangeText = state.range === "custom" ? `${range.from} – ${range.to}` : RANGE_LABELS[state.range];
  const settingsLink = { pathname: "/settings", search: serializeViewState(state) };

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <div>
          <h1 className="text-xl font-semibold">Impact</h1>
          <p className="text-sm text-slate-500 dark:text-slate-400">
            {rangeText}
            {state.project ? ` · ${state.project}` : " · all projects"} · electricity mix {zone ?? "world average"}
          </p>
        </div>
        <FilterBar />
      </div>

      {impact.isError && !data ? (
        <div className="panel">
          <ErrorState error={impact.error} onRetry={() => impact.refetch()} />
        </div>
      ) : impact.isPending || !total ? (
        <CardsAndChartSkeleton cards={4} grid="sm:grid-cols-2 lg:grid-cols-4" />
      ) : total.requests === 0 ? (
        <NoCallsPanel />
      ) : (
        <div className={`space-y-4 ${impact.isPlaceholderData ? "opacity-60" : ""}`}>
          <section aria-label="Impact figures" className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
            <Card
              label="Energy"
              value={formatQuantity(total.energy_kwh, "kWh")}
              hint={`${formatNumber(total.requests_with_impact)} of ${formatNumber(total.requests)} calls estimated (${formatPercent(coverage)})`}
            />
            <Card label="Emissions" value={formatQuantity(total.co2e_kg, "kg CO2e")} hint={`electricity mix: ${zone ?? "world average"}`} />
            <Card label="Water" value={formatQuantity(total.water_l, "L")} hint="consumed for cooling and power" />
            {factor > 0 ? (
              <Card label="Restoration equivalent" value={formatQuantity(total.m2_restored, "m²")} hint={`${formatNumber(factor)} m² per kg CO2e`} />
            ) : (
              <Card
                label="Restoration equivalent"
                value="—"
                hint={
                  <>
                    No factor set: set the m² restored per kg CO2e of your restoration project in{" "}
                    <Link to={settingsLink} className="text-indigo-700 underline dark:text-indigo-300">
                      Settings
                    </Link>
                    .
                  </>
                }
              />
            )}
          </section>

          <section className="panel min-w-0" aria-labelledby="impact-bars">
            <h2 id="impact-bars" className="panel-title mb-3">
              Energy by model
            </h2>
            {bars.length === 0 ? (
              <EmptyState title="No impact data for these models">
                The models called in this period are not in the EcoLogits data, so they get no figure.
              </EmptyState>
            ) : (
              <div
                className="text-slate-500 dark:text-slate-400"
                style={{ height: Math.max(120, bars.length * 36 + 40) }}
                role="img"
                aria-label={`Energy by model: ${bars.map((bar) => `${bar.name} ${formatQuantity(bar.energy_kwh, "kWh")}`).join("; ")}`}
              >
                <ResponsiveContainer width="100%" height="100%">
                  <BarChart data={bars} layout="vertical" margin={{ top: 0, right: 12, bottom: 0, left: 0 }}>
                    <XAxis type="number" tickFormatter={(v: number) => formatQuantity(v, "kWh")} tick={{ fill: "currentColor", fontSize: 11 }} stroke="currentColor" strokeOpacity={0.3} />
                    <YAxis type="category" dataKey="name" width={150} tick={{ fill: "currentColor", fontSize: 11 }} stroke="currentColor" strokeOpacity={0.3} interval={0} />
                    <Tooltip
                      cursor={{ fill: "currentColor", fillOpacity: 0.08 }}
                      content={(props) => (
                        <ChartTooltip active={props.active} payload={props.payload as never} label={props.label as string} formatValue={(v) => formatQuantity(v, "kWh")} showTotal={false} />
                      )}
                    />
                    <Bar dataKey="energy_kwh" name="Energy" fill={colorFor(3)} radius={[0, 3, 3, 0]} isAnimationActive={false} />
                  </BarChart>
                </ResponsiveContainer>
              </div>
            )}
          </section>

          <section className="panel overflow-hidden p-0" aria-labelledby="impact-table">
            <h2 id="impact-table" className="panel-title px-4 pt-4 pb-2">
              By model
            </h2>
            <div className="relative overflow-x-auto">
              <table className="w-full text-sm">
                <caption className="sr-only">Energy, emissions, water and restoration equivalent by model</caption>
                <thead className="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500 dark:bg-slate-800/60 dark:text-slate-400">
                  <tr>
                    <th scope="col" className="px-3 py-2 font-medium">Model</th>
                    <th scope="col" className="px-3 py-2 text-right font-medium">Calls</th>
                    <th scope="col" className="px-3 py-2 text-right font-medium">Estimated</th>
                    <th scope="col" className="px-3 py-2 text-right font-medium">Energy</th>
                    <th scope="col" className="px-3 py-2 text-right font-medium">CO2e</th>
                    <th scope="col" className="px-3 py-2 text-right font-medium">Water</th>
                    {factor > 0 && <th scope="col" className="px-3 py-2 text-right font-medium">m² restored</th>}
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                  {rows.map((row) => {
                    const known = row.requests_with_impact > 0;
                    return (
                      <tr key={row.key ?? "(none)"} className="hover:bg-slate-50 dark:hover:bg-slate-800/40">
                        <th scope="row" className="whitespace-nowrap px-3 py-2 text-left font-medium">
                          {row.key ?? "(none)"}
                        </th>
                        <td className={NUMERIC}>{formatNumber(row.requests)}</td>
                        <td className={NUMERIC}>{formatNumber(row.requests_with_impact)}</td>
                        <td className={NUMERIC}>{known ? formatQuantity(row.energy_kwh, "kWh") : "—"}</td>
                        <td className={NUMERIC}>{known ? formatQuantity(row.co2e_kg, "kg") : "—"}</td>
                        <td className={NUMERIC}>{known ? formatQuantity(row.water_l, "L") : "—"}</td>
                        {factor > 0 && <td className={NUMERIC}>{known ? formatQuantity(row.m2_restored, "m²") : "—"}</td>}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            {unknown.length > 0 && (
              <p className="px-4 py-3 text-xs text-slate-500 dark:text-slate-400">
                No impact data for {unknown.join(", ")}: these calls count as calls but get no figure.
              </p>
            )}
          </section>

          <section className="panel" aria-labelledby="impact-method">
            <h2 id="impact-method" className="panel-title mb-2">
              How this is estimated
            </h2>
            <p className="max-w-prose text-sm text-slate-600 dark:text-slate-300">
              Figures follow the{" "}
              <a href="https://ecologits.ai/latest/methodology/" target="_blank" rel="noreferrer" className="text-indigo-700 underline dark:text-indigo-300">
                EcoLogits methodology
              </a>
              : each call gets an estimate from the model's size (parameters, active parameters for mixture-of-experts models)
              and the number of output tokens it generated, covering the GPUs and the rest of the server plus the data
              centre's overhead. Emissions and water use the electricity mix of the organisation's zone
              ({zone ?? "not set, so the world average"}). Models EcoLogits does not know get no figure, rather than a guess.
              These are order-of-magnitude estimates, not measurements.
            </p>
          </section>
        </div>
      )}
    </div>
  );
}
