/** Every field of one event, with the cost split by usage kind and where its price came from. */
import { X } from "lucide-react";
import { useEffect, useRef, type ReactNode } from "react";
import type { EventPublic } from "../../api/client";
import { formatDateTime, formatDuration, formatMoney, formatNumber } from "../../lib/format";

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-[10rem_1fr] gap-2 py-1 text-sm">
      <dt className="text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="min-w-0 break-words">{children ?? <span className="text-slate-500 dark:text-slate-400">—</span>}</dd>
    </div>
  );
}

function Group({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="border-t border-slate-200 py-3 first:border-t-0 dark:border-slate-800">
      <h3 className="mb-1 text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">{title}</h3>
      <dl>{children}</dl>
    </section>
  );
}

const usd = (value: number | null) => (value === null ? null : formatMoney(value, "USD"));
const num = (value: number | null | undefined, unit = "") => (value == null ? null : `${value.toPrecision(3)}${unit}`);

export function EventDrawer({ event, projectName, timezone, onClose }: { event: EventPublic; projectName: string; timezone: string; onClose: () => void }) {
  const closeRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    closeRef.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
      previous?.focus();
    };
  }, [onClose]);

  const tags = Object.entries(event.tags);
  return (
    <div className="fixed inset-0 z-40 flex justify-end">
      <div aria-hidden className="absolute inset-0 bg-slate-900/40" onClick={onClose} />
      <div
        role="dialog"
        aria-modal="true"
        aria-labelledby="event-title"
        className="relative flex h-full w-full max-w-xl flex-col bg-white shadow-xl dark:bg-slate-900"
      >
        <div className="flex items-start gap-3 border-b border-slate-200 px-5 py-4 dark:border-slate-800">
          <div className="min-w-0">
            <h2 id="event-title" className="truncate font-semibold">
              {event.provider} / {event.model}
            </h2>
            <p className="text-sm text-slate-500 dark:text-slate-400">{formatDateTime(event.ts, timezone)}</p>
          </div>
          <button ref={closeRef} type="button" onClick={onClose} className="btn-secondary ml-auto px-2" aria-label="Close details">
            <X aria-hidden className="size-4" />
          </button>
        </div>
        {/* Focusable so keyboard users can scroll the details (axe: scrollable-region-focusable). */}
        <div
          tabIndex={0}
          role="region"
          aria-label="Event details"
          className="flex-1 overflow-y-auto px-5 pb-6 focus-visible:-outline-offset-2"
        >
          <Group title="Cost">
            <Row label="Cost">
              <span className="font-semibold">{formatMoney(event.cost, event.currency)}</span>
              {event.currency !== "USD" && <span className="text-slate-500"> ({usd(event.cost_usd)} at {event.fx_rate} {event.currency}/USD)</span>}
            </Row>
            <Row label="Billed (after markup)">{formatMoney(event.billed_cost, event.currency)}</Row>
            <Row label="Input">{usd(event.cost_input_usd)}</Row>
            <Row label="Cache read">{usd(event.cost_cache_read_usd)}</Row>
            <Row label="Cache write">{usd(event.cost_cache_write_usd)}</Row>
            <Row label="Output">{usd(event.cost_output_usd)}</Row>
            <Row label="Reasoning">{usd(event.cost_reasoning_usd)}</Row>
            <Row label="Reported by provider">{usd(event.reported_cost_usd)}</Row>
            <Row label="Price source">
              <code className={event.price_source === "unknown" ? "text-amber-600 dark:text-amber-400" : ""}>{event.price_source}</code>
              {event.price_source === "unknown" && " — no known price: counted at 0"}
            </Row>
          </Group>
          <Group title="Usage">
            <Row label="Input tokens">{formatNumber(event.input_tokens)}</Row>
            <Row label="Output tokens">{formatNumber(event.output_tokens)}</Row>
            <Row label="Cache read tokens">{formatNumber(event.cache_read_tokens)}</Row>
            <Row label="Cache write tokens">
              {formatNumber(event.cache_write_tokens)}
              {event.cache_write_1h_tokens > 0 && ` (${formatNumber(event.cache_write_1h_tokens)} for 1 h)`}
            </Row>
            <Row label="Reasoning tokens">{formatNumber(event.reasoning_tokens)}</Row>
            <Row label="Latency">{event.latency_ms == null ? null : formatDuration(event.latency_ms)}</Row>
            <Row label="Time to first token">{event.time_to_first_token_ms == null ? null : formatDuration(event.time_to_first_token_ms)}</Row>
          </Group>
          <Group title="Call">
            <Row label="Status">
              {event.status}
              {event.error_type && ` (${event.error_type})`}
            </Row>
            <Row label="Request type">{event.request_type}</Row>
            <Row label="Endpoint">{event.endpoint}</Row>
            <Row label="Requested model">{event.requested_model}</Row>
            <Row label="Project">{projectName}</Row>
            <Row label="Feature">{event.feature}</Row>
            <Row label="User">{event.user}</Row>
            <Row label="End user">{event.end_user}</Row>
            <Row label="Team">{event.team}</Row>
            <Row label="API key">{event.api_key_id && <code>{event.api_key_id}</code>}</Row>
            <Row label="Tags">
              {tags.length > 0 && (
                <ul className="flex flex-wrap gap-1">
                  {tags.map(([key, value]) => (
                    <li key={key} className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs dark:bg-slate-800">
                      {key}={value}
                    </li>
                  ))}
                </ul>
              )}
            </Row>
          </Group>
          <Group title="Environmental impact">
            <Row label="Energy">{num(event.energy_kwh, " kWh")}</Row>
            <Row label="Emissions">{num(event.co2e_kg, " kg CO2e")}</Row>
            <Row label="Water">{num(event.water_l, " l")}</Row>
          </Group>
          <Group title="Identifiers">
            <Row label="Event id"><code className="text-xs">{event.event_id}</code></Row>
            <Row label="Trace id">{event.trace_id && <code className="text-xs">{event.trace_id}</code>}</Row>
            <Row label="Prompt hash">{event.prompt_hash && <code className="text-xs">{event.prompt_hash}</code>}</Row>
            <Row label="Source">{event.source}</Row>
            <Row label="Ingested">{formatDateTime(event.ingested_at, timezone)}</Row>
          </Group>
        </div>
      </div>
    </div>
  );
}
