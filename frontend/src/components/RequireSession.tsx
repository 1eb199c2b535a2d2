/** Shows its children only to a logged-in user; sends anyone else to the login page. */
import { Navigate, Outlet, useLocation } from "react-router";
import { useMe } from "../api/queries";
import { SessionContext } from "../lib/session";
import { ErrorState, Spinner } from "./States";

export function RequireSession() {
  const me = useMe();
  const location = useLocation();
  if (me.isPending) {
    return (
      <div className="grid min-h-screen place-items-center">
        <Spinner />
      </div>
    );
  }
  if (me.isError) return <ErrorState error={me.error} onRetry={() => me.refetch()} />;
  if (me.data === null) {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={next === "/" ? "/login" : `/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return (
    <SessionContext.Provider value={me.data}>
      <Outlet />
    </SessionContext.Provider>
  );
}
