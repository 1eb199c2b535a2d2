/** Routes: each page is its own chunk (React.lazy), so the first page loads only its code. */
import { lazy, Suspense } from "react";
import { createBrowserRouter } from "react-router";
import { AppShell } from "./components/AppShell";
import { RequireSession } from "./components/RequireSession";

const LoginPage = lazy(() => import("./pages/LoginPage"));
const OverviewPage = lazy(() => import("./pages/OverviewPage"));
const LogsPage = lazy(() => import("./pages/LogsPage"));
const PerformancePage = lazy(() => import("./pages/PerformancePage"));
const PatternsPage = lazy(() => import("./pages/PatternsPage"));
const ImpactPage = lazy(() => import("./pages/ImpactPage"));
const SettingsPage = lazy(() => import("./pages/SettingsPage"));
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
          { path: "logs", element: <LogsPage /> },
          { path: "performance", element: <PerformancePage /> },
          { path: "patterns", element: <PatternsPage /> },
          { path: "impact", element: <ImpactPage /> },
          { path: "settings", element: <SettingsPage /> },
          { path: "*", element: <NotFoundPage /> },
        ],
      },
    ],
  },
]);
