/** Routes: each page is its own chunk (React.lazy), so the first page loads only its code. */
import { createElement, lazy, Suspense, useState, type ComponentType } from "react";
import { createBrowserRouter } from "react-router";
import { AppShell } from "./components/AppShell";
import { RequireSession } from "./components/RequireSession";

const LoginPage = lazy(() => import("./pages/LoginPage"));
/**
 * A lazily loaded page whose code starts loading at once when it is the page being opened, beside
 * the session check that precedes its render. If the code has arrived by then, the page renders
 * at once: a React.lazy page always suspends on its first render, and React holds content that
 * replaces a shown fallback back for up to 300 ms (measured by bench/ui.py).
 */
function openingPage(path: string, load: () => Promise<{ default: ComponentType }>): ComponentType {
  let loaded: ComponentType | null = null;
  if (window.location.pathname === path) {
    // A failure is reported by the lazy load below, which asks again.
    load().then((module) => (loaded = module.default), () => undefined);
  }
  const Lazy = lazy(load);
  return function Page() {
    const [early] = useState(() => loaded); // decided once: switching would remount the page
    return early ? createElement(early) : <Lazy />;
  };
}

const OverviewPage = openingPage("/", () => import("./pages/OverviewPage"));
const ExplorePage = openingPage("/explore", () => import("./pages/ExplorePage"));
const LogsPage = lazy(() => import("./pages/LogsPage"));
const PerformancePage = lazy(() => import("./pages/PerformancePage"));
const PatternsPage = lazy(() => import("./pages/PatternsPage"));
const ImpactPage = lazy(() => import("./pages/ImpactPage"));
const SettingsPage = lazy(() => import("./pages/SettingsPage"));
const BudgetsPage = lazy(() => import("./pages/BudgetsPage"));
const BudgetDetailPage = lazy(() => import("./pages/BudgetDetailPage"));
const AlertsPage = lazy(() => import("./pages/AlertsPage"));
const WalletsPage = lazy(() => import("./pages/WalletsPage"));
const NotFoundPage = lazy(() => import("./pages/NotFoundPage"));

export const router = createBrowserRouter([
  {
    path: "/login",
    element: (
      <Suspense fallback={null}>
        <LoginPage />
      </Suspense>
    ),
  },
  {
    element: <RequireSession />,
    children: [
      {
        element: <AppShell />,
        children: [
          { index: true, element: <OverviewPage /> },
          { path: "explore", element: <ExplorePage /> },
          { path: "logs", element: <LogsPage /> },
          { path: "performance", element: <PerformancePage /> },
          { path: "patterns", element: <PatternsPage /> },
          { path: "impact", element: <ImpactPage /> },
          { path: "budgets", element: <BudgetsPage /> },
          { path: "budgets/:budgetId", element: <BudgetDetailPage /> },
          { path: "alerts", element: <AlertsPage /> },
          { path: "wallets", element: <WalletsPage /> },
          { path: "settings", element: <SettingsPage /> },
          { path: "*", element: <NotFoundPage /> },
        ],
      },
    ],
  },
]);
