import Link from "next/link";
import type { ReactNode } from "react";
import { HelperIndicator } from "../components/HelperIndicator.tsx";
import { LiveSessions } from "../components/LiveSessions.tsx";
import { NavLinks } from "../components/NavLinks.tsx";
import { HelperProvider } from "../lib/client/HelperContext.tsx";
import { SessionsProvider } from "../lib/client/useLiveSession.tsx";
import { helperAccess } from "../lib/server/helperAccess.ts";

// Everything here reads the workstation's database and helper token at request time.
export const dynamic = "force-dynamic";

export default function DashboardLayout({ children }: { children: ReactNode }) {
  const access = helperAccess();
  return (
    <HelperProvider url={access.url} token={access.token}>
      <SessionsProvider>
        <div className="flex min-h-screen">
          {/* The dark column runs the page's whole height; the sidebar in it stays in view. */}
          <div className="w-64 shrink-0 bg-slate-900">
            <aside className="sticky top-0 flex h-screen w-64 flex-col gap-6 overflow-y-auto px-4 py-5">
              <Link href="/" className="flex items-center gap-2 px-2 text-lg font-semibold tracking-tight text-white">
                <span aria-hidden className="grid h-7 w-7 place-items-center rounded-md bg-sky-500 text-sm font-bold text-white">
                  k
                </span>
                kbridge
              </Link>
              <NavLinks />
              <LiveSessions />
              <div className="mt-auto">
                <HelperIndicator />
              </div>
            </aside>
          </div>
          <main className="min-w-0 flex-1 px-10 py-8">{children}</main>
        </div>
      </SessionsProvider>
    </HelperProvider>
  );
}
