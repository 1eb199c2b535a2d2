/** Settings: the organisation, API keys, price overrides and re-pricing. Admins and owners only. */
import { useSession } from "../lib/session";
import { EmptyState } from "../components/States";
import { ApiKeysPanel } from "./settings/ApiKeysPanel";
import { OrganizationPanel } from "./settings/OrganizationPanel";
import { PriceOverridesPanel } from "./settings/PriceOverridesPanel";
import { RepricePanel } from "./settings/RepricePanel";

const ADMIN_ROLES = new Set(["owner", "admin"]);

export default function SettingsPage() {
  const { organization, role } = useSession();
  const isAdmin = ADMIN_ROLES.has(role);
  return (
    <div className="space-y-4">
      <div>
        <h1 className="text-xl font-semibold">Settings</h1>
        <p className="text-sm text-slate-500 dark:text-slate-400">
          {organization.name} · {organization.timezone} · {organization.currency}
        </p>
      </div>
      {/* Not keyed on the settings: a save resets the form itself and keeps its "saved" message. */}
      <OrganizationPanel organization={organization} canEdit={isAdmin} />
      {isAdmin ? (
        <>
          <ApiKeysPanel timezone={organization.timezone} />
          <PriceOverridesPanel timezone={organization.timezone} />
          <RepricePanel timezone={organization.timezone} />
        </>
      ) : (
        <div className="panel">
          <EmptyState title="API keys and prices are for admins">
            Your role is {role}. Ask an owner or admin of {organization.name} to manage keys, price overrides and re-pricing.
          </EmptyState>
        </div>
      )}
    </div>
  );
}
