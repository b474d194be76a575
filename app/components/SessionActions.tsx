"use client";

import Link from "next/link";
import { useState, useTransition } from "react";
import type { ErrorInfo, SessionView } from "../../helper/protocol/index.ts";
import { useHelper } from "../lib/client/HelperContext.tsx";
import { ErrorNotice } from "./ui/ErrorNotice.tsx";
import { buttonClasses, type ButtonSize } from "./ui/buttons.ts";

/** A live session's two actions wherever it is shown instead of Connect: open its page, or disconnect (clean up when interrupted). */
export function SessionActions({ session, size = "normal" }: { session: SessionView; size?: ButtonSize }) {
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
  const button = buttonClasses(size);
  return (
    <div className="flex flex-col items-end gap-2">
      <div className="flex items-center gap-2">
        <Link href={`/sessions/${session.id}`} className={button.primary}>
          Open session
        </Link>
        <button type="button" className={button.danger} onClick={disconnect} disabled={restoring || helper.state !== "connected"}>
          {restoring ? "Disconnecting…" : session.state === "interrupted" ? "Clean up" : "Disconnect"}
        </button>
      </div>
      {error && <ErrorNotice error={error} />}
    </div>
  );
}
