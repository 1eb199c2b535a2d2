/** Log in, or on a fresh installation (the server says sign-up is open) create the first owner and organisation. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { api, ApiError, type MePublic } from "../api/client";
import { queryKeys, sessionAfterLogin, useAuthSession } from "../api/queries";
import { errorMessage, Skeleton, Spinner } from "../components/States";

type Mode = "login" | "signup";

/** Only same-site paths are followed after login (no open redirect). */
function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

function explain(error: unknown, mode: Mode): string {
  if (error instanceof ApiError) {
    if (mode === "login" && error.status === 401) return "Wrong e-mail or password.";
    if (mode === "signup" && error.status === 403)
      return "This installation already has an owner: log in, or ask an admin of your organisation for an account.";
  }
  return errorMessage(error);
}

export default function LoginPage() {
  // /auth/session answers 200 logged in or not (no 401 in the console), and says whether the
  // installation has no user yet, the only time sign-up is offered.
  const session = useAuthSession();
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const signupOpen = session.data?.signup_open ?? false;
  const [chosen, setChosen] = useState<Mode | null>(null);
  const mode: Mode = chosen ?? (signupOpen ? "signup" : "login");
  const id = useId();

  const submit = useMutation({
    mutationFn: (form: FormData): Promise<MePublic> => {
      const email = String(form.get("email") ?? "");
      const password = String(form.get("password") ?? "");
      if (mode === "login") return api.login({ email, password });
      return api.signup({
        email,
        password,
        name: String(form.get("name") ?? ""),
        organization: String(form.get("organization") ?? "") || "My organization",
      });
    },
    onSuccess: (session) => {
      queryClient.setQueryData(queryKeys.me, sessionAfterLogin(session));
      navigate(next, { replace: true });
    },
  });

  if (session.data?.user) return <Navigate to={next} replace />;

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    submit.mutate(new FormData(event.currentTarget));
  }

  function switchMode(to: Mode) {
    submit.reset();
    setChosen(to);
  }

  const field = "input w-full py-2";
  return (
    <main className="grid min-h-screen place-items-center px-4 py-10">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex items-center justify-center gap-2 text-xl font-semibold">
          <img src="/favicon.svg" alt="" className="size-8" />
          TokenOptimizer
        </div>
        <div className="panel p-6">
          <h1 className="mb-1 text-lg font-semibold">{mode === "login" ? "Log in" : "Set up TokenOptimizer"}</h1>
          <p className="mb-5 text-sm text-slate-500 dark:text-slate-400">
            {mode === "login"
              ? "See what your LLM calls cost."
              : "Create the first owner account and your organisation. Only possible on a new installation."}
          </p>
          {session.isPending ? (
            <div className="space-y-4" aria-busy="true">
              <Skeleton className="h-14 w-full" />
              <Skeleton className="h-14 w-full" />
              <Skeleton className="h-10 w-full" />
            </div>
          ) : (
            <form className="space-y-4" onSubmit={onSubmit} noValidate={false}>
              {mode === "signup" && (
                <>
                  <div>
                    <label htmlFor={`${id}-name`} className="mb-1 block text-sm font-medium">
                      Your name
                    </label>
                    <input id={`${id}-name`} name="name" autoComplete="name" className={field} />
                  </div>
                  <div>
                    <label htmlFor={`${id}-org`} className="mb-1 block text-sm font-medium">
                      Organisation
                    </label>
                    <input id={`${id}-org`} name="organization" placeholder="My organization" className={field} />
                  </div>
                </>
              )}
              <div>
                <label htmlFor={`${id}-email`} className="mb-1 block text-sm font-medium">
                  E-mail
                </label>
                <input
                  id={`${id}-email`}
                  name="email"
                  type={mode === "signup" ? "email" : "text"}
                  autoComplete="username"
                  required
                  autoFocus
                  className={field}
                />
              </div>
              <div>
                <label htmlFor={`${id}-password`} className="mb-1 block text-sm font-medium">
                  Password
                </label>
                <input
                  id={`${id}-password`}
                  name="password"
                  type="password"
                  autoComplete={mode === "login" ? "current-password" : "new-password"}
                  minLength={mode === "signup" ? 8 : 1}
                  required
                  className={field}
                  aria-describedby={mode === "signup" ? `${id}-password-hint` : undefined}
                />
                {mode === "signup" && (
                  <p id={`${id}-password-hint`} className="mt-1 text-xs text-slate-500 dark:text-slate-400">
                    At least 8 characters.
                  </p>
                )}
              </div>
              {submit.isError && (
                <p role="alert" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700 dark:bg-rose-500/10 dark:text-rose-300">
                  {explain(submit.error, mode)}
                </p>
              )}
              <button type="submit" className="btn-primary w-full py-2" disabled={submit.isPending}>
                {submit.isPending ? <Spinner label={mode === "login" ? "Logging in" : "Creating"} /> : mode === "login" ? "Log in" : "Create account"}
              </button>
            </form>
          )}
        </div>
        {/* Sign-up exists only until the first owner is created; after that accounts come from admins. */}
        {signupOpen && (
          <p className="mt-4 text-center text-sm text-slate-500 dark:text-slate-400">
            {mode === "login" ? (
              <>
                New installation?{" "}
                <button type="button" className="font-medium text-indigo-600 underline-offset-2 hover:underline dark:text-indigo-400" onClick={() => switchMode("signup")}>
                  Create the owner account
                </button>
              </>
            ) : (
              <>
                Already have an account?{" "}
                <button type="button" className="font-medium text-indigo-600 underline-offset-2 hover:underline dark:text-indigo-400" onClick={() => switchMode("login")}>
                  Log in
                </button>
              </>
            )}
          </p>
        )}
      </div>
    </main>
  );
}
