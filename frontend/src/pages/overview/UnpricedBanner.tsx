/** Models seen without a price are stored at cost 0: say so, never silently. */
import { AlertTriangle } from "lucide-react";
import { useUnpricedModels } from "../../api/queries";
import { formatNumber } from "../../lib/format";

export function UnpricedBanner() {
  const unpriced = useUnpricedModels();
  const models = unpriced.data ?? [];
  if (models.length === 0) return null;
  const events = models.reduce((sum, model) => sum + model.events, 0);
  return (
    <div role="status" className="flex gap-3 rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-500/40 dark:bg-amber-500/10 dark:text-amber-100">
      <AlertTriangle aria-hidden className="mt-0.5 size-5 shrink-0 text-amber-500" />
      <div>
        <p className="font-medium">
          {models.length === 1 ? "1 model has" : `${models.length} models have`} no known price: {formatNumber(events)} calls are counted at cost 0.
        </p>
        <p className="mt-0.5 text-amber-800 dark:text-amber-200/80">
          {models
            .slice(0, 5)
            .map((model) => `${model.provider}/${model.model} (${formatNumber(model.events)})`)
            .join(", ")}
          {models.length > 5 && ", …"}. Add a price override (API: <code>POST /api/v1/price-overrides</code>), then re-price.
        </p>
      </div>
    </div>
  );
}
