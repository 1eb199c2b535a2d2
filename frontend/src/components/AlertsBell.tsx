/** The header's bell: a link to the alerts with the number of unread ones, polled every 30 s. */
import { Bell } from "lucide-react";
import { NavLink } from "react-router";
import { useUnreadAlertCount } from "../api/queries";
import { bellLabel, unreadBadge } from "../lib/alerts";

export function AlertsBell() {
  const unread = useUnreadAlertCount();
  const count = unread.data;
  const badge = unreadBadge(count);
  return (
    <NavLink
      to="/alerts"
      className={({ isActive }) => `btn-secondary relative px-2 ${isActive ? "border-indigo-400 dark:border-indigo-500" : ""}`}
      aria-label={bellLabel(count)}
      title={bellLabel(count)}
    >
      <Bell aria-hidden className="size-4" />
      {badge && (
        <span
          aria-hidden
          data-testid="alerts-badge"
          className="absolute -right-1.5 -top-1.5 min-w-5 rounded-full bg-rose-600 px-1 text-center text-[11px] font-semibold leading-5 text-white"
        >
          {badge}
        </span>
      )}
    </NavLink>
  );
}
