"use client";

import Link from "next/link";
import { useState, useTransition } from "react";
import type { ErrorInfo, SessionView } from "../../helper/protocol/index.ts";
import { useHelper } from "../lib/client/HelperContext.tsx";
import { ErrorNotice } from "./ui/ErrorNotice.tsx";
import { buttonClass } from "./ui/buttons.ts";

/** A live session's two actions wherever it is shown instead of Connect: open its page, or disconnect (clean up when interrupted). */
export function SessionActions({ session, size = "normal" }: { session: SessionView; size?: "normal" | "small" }) {
  const helper = useHelper();
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [pending, startTransition] = useTransition();
  const disconnect = () =>
    startTransition(async () => {
      setError(null);
      const stopped = await helper.send("session:stop", { sessionId: session.id });
      if (!stopped.ok) setError(stopped.error);
    });
  const restoring = pending || session.state === "restoring";
  const small = size === "small" ? " px-2.5 py-1 text-xs" : "";
  return (
    <div className="flex flex-col items-end gap-2">
      <div className="flex items-center gap-2">
        <Link href={`/sessions/${session.id}`} className={buttonClass.primary + small}>
          Open session
        </Link>
        <button type="button" className={buttonClass.danger + small} onClick={disconnect} disabled={restoring || helper.state !== "connected"}>
          {restoring ? "Disconnecting…" : session.state === "interrupted" ? "Clean up" : "Disconnect"}
        </button>
      </div>
      {error && <ErrorNotice error={error} />}
    </div>
  );
}
