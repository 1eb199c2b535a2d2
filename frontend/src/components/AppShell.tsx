/** The logged-in frame: header (range, project, theme, logout), navigation, and the page. */
import { useQueryClient } from "@tanstack/react-query";
import { BarChart3, CalendarClock, ChartSpline, Gauge, Leaf, LogOut, Moon, PiggyBank, ScrollText, Settings, Sun, Wallet } from "lucide-react";
import { Suspense } from "react";
import { NavLink, Outlet, useLocation, useNavigate } from "react-router";
import { api } from "../api/client";
import { queryKeys } from "../api/queries";
import { useSession } from "../lib/session";
import { useTheme } from "../lib/theme";
import { useViewState } from "../lib/useViewState";
import { serializeViewState } from "../lib/urlState";
import { AlertsBell } from "./AlertsBell";
import { DateRangePicker } from "./DateRangePicker";
import { ProjectSwitcher } from "./ProjectSwitcher";
import { Spinner } from "./States";

const NAV = [
  { to: "/", label: "Overview", icon: BarChart3, end: true },
  { to: "/explore", label: "Explore", icon: ChartSpline, end: false },
  { to: "/logs", label: "Logs", icon: ScrollText, end: false },
  { to: "/performance", label: "Performance", icon: Gauge, end: false },
  { to: "/patterns", label: "Patterns", icon: CalendarClock, end: false },
  { to: "/impact", label: "Impact", icon: Leaf, end: false },
  { to: "/budgets", label: "Budgets", icon: PiggyBank, end: false },
  { to: "/wallets", label: "Wallets", icon: Wallet, end: false },
  { to: "/settings", label: "Settings", icon: Settings, end: false },
];

const PAGES_WITHOUT_VIEW_PICKERS = ["/settings", "/budgets", "/alerts", "/wallets"];

export function AppShell() {
  const session = useSession();
  const { state } = useViewState();
  const [theme, toggleTheme] = useTheme();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  // The range and project pickers do nothing on the pages of settings, budgets, alerts and wallets.
  const { pathname } = useLocation();
  const showViewPickers = !PAGES_WITHOUT_VIEW_PICKERS.some((prefix) => pathname.startsWith(prefix));
  // Moving between pages keeps the range, project and filters, not a page's own settings.
  const search = serializeViewState(state);

  async function logout() {
    try {
      await api.logout();
    } finally {
      queryClient.clear();
      queryClient.setQueryData(queryKeys.me, null);
      navigate("/login", { replace: true });
    }
  }

  return (
    <div className="min-h-screen">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:fixed focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 dark:focus:bg-slate-900"
      >
        Skip to content
      </a>
      <header className="sticky top-0 z-30 border-b border-slate-200 bg-white/90 backdrop-blur dark:border-slate-800 dark:bg-slate-950/90">
        <div className="mx-auto flex max-w-screen-2xl flex-wrap items-center gap-x-4 gap-y-2 px-4 py-2.5">
          <div className="flex items-center gap-2 font-semibold">
            <img src="/favicon.svg" alt="" className="size-6" />
            <span>TokenOptimizer</span>
            <span className="hidden text-sm font-normal text-slate-500 sm:inline dark:text-slate-400">
              · {session.organization.name}
            </span>
          </div>
          <nav aria-label="Main" className="order-last -mx-1 flex w-full gap-1 overflow-x-auto md:order-none md:w-auto">
            {NAV.map(({ to, label, icon: Icon, end }) => (
              <NavLink
                key={to}
                to={{ pathname: to, search }}
                end={end}
                className={({ isActive }) =>
                  `inline-flex items-center gap-1.5 whitespace-nowrap rounded-md px-3 py-1.5 text-sm font-medium ${
                    isActive
                      ? "bg-indigo-50 text-indigo-700 dark:bg-indigo-500/15 dark:text-indigo-300"
                      : "text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
                  }`
                }
              >
                <Icon aria-hidden className="size-4" />
                {label}
              </NavLink>
            ))}
          </nav>
          <div className="ml-auto flex flex-wrap items-center gap-2">
            {showViewPickers && (
              <>
                <DateRangePicker />
                <ProjectSwitcher />
              </>
            )}
            <AlertsBell />
            <button
              type="button"
              onClick={toggleTheme}
              className="btn-secondary px-2"
              aria-label={theme === "dark" ? "Switch to light theme" : "Switch to dark theme"}
              title={theme === "dark" ? "Light theme" : "Dark theme"}
            >
              {theme === "dark" ? <Sun aria-hidden className="size-4" /> : <Moon aria-hidden className="size-4" />}
            </button>
            <button type="button" onClick={logout} className="btn-secondary px-2" title={`Log out ${session.user.email}`}>
              <LogOut aria-hidden className="size-4" />
              <span className="sr-only sm:not-sr-only">Log out</span>
            </button>
          </div>
        </div>
      </header>
      <main id="main" className="mx-auto max-w-screen-2xl px-4 py-5">
        <Suspense fallback={<Spinner label="Loading page" />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
