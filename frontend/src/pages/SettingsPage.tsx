/**
 * Settings, in sections (`?tab=`): general (the organisation, API keys, price overrides, re-pricing),
 * notification channels and the gateway. Keys, prices, channels and the gateway are for admins and owners.
 */
import { Link, useSearchParams } from "react-router";
import { useSession } from "../lib/session";
import { EmptyState } from "../components/States";
import { ApiKeysPanel } from "./settings/ApiKeysPanel";
import { ChannelsPanel } from "./settings/ChannelsPanel";
import { GatewayPanel } from "./settings/GatewayPanel";
import { OrganizationPanel } from "./settings/OrganizationPanel";
import { PriceOverridesPanel } from "./settings/PriceOverridesPanel";
import { RepricePanel } from "./settings/RepricePanel";

const ADMIN_ROLES = new Set(["owner", "admin"]);

const TABS = [
  { id: "general", label: "General" },
  { id: "notifications", label: "Notifications" },
  { id: "gateway", label: "Gateway" },
] as const;
type Tab = (typeof TABS)[number]["id"];

function SectionLinks({ current }: { current: Tab }) {
  return (
    <nav aria-label="Settings sections" className="flex gap-1 overflow-x-auto border-b border-slate-200 dark:border-slate-800">
      {TABS.map((tab) => (
        <Link
          key={tab.id}
          to={tab.id === "general" ? "/settings" : `/settings?tab=${tab.id}`}
          aria-current={current === tab.id ? "page" : undefined}
          className={`-mb-px whitespace-nowrap border-b-2 px-3 py-2 text-sm font-medium ${
            current === tab.id
              ? "border-indigo-600 text-indigo-700 dark:border-indigo-400 dark:text-indigo-300"
              : "border-transparent text-slate-600 hover:border-slate-300 hover:text-slate-900 dark:text-slate-300 dark:hover:text-white"
          }`}
        >
          {tab.label}
        </Link>
      ))}
    </nav>
  );
}

export default function SettingsPage() {
  const { organization, role } = useSession();
  const isAdmin = ADMIN_ROLES.has(role);
  const [params] = useSearchParams();
  const wanted = params.get("tab");
  const tab: Tab = isAdmin && (wanted === "notifications" || wanted === "gateway") ? wanted : "general";
  return (
    <div className="space-y-4">
      <div>
        <h1 className="text-xl font-semibold">Settings</h1>
        <p className="text-sm text-slate-500 dark:text-slate-400">
          {organization.name} · {organization.timezone} · {organization.currency}
        </p>
      </div>
      {isAdmin && <SectionLinks current={tab} />}
      {tab === "notifications" && <ChannelsPanel timezone={organization.timezone} />}
      {tab === "gateway" && <GatewayPanel />}
      {/* Not keyed on the settings: a save resets the form itself and keeps its "saved" message. */}
      {tab === "general" && <OrganizationPanel organization={organization} canEdit={isAdmin} />}
      {tab !== "general" ? null : isAdmin ? (
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
