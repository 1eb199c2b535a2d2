/** The logged-in user and organisation, available to every page inside the app shell. */
import { createContext, useContext } from "react";
import type { MePublic } from "../api/client";

export const SessionContext = createContext<MePublic | null>(null);

export function useSession(): MePublic {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside of the logged-in app shell");
  return session;
}
