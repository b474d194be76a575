"use client";

import { useState } from "react";
import { buttonClass } from "../../components/ui/buttons.ts";

/** Copies `text`; where the clipboard is refused, shows it selected for a manual copy. */
export function CopyButton({ text, label, what }: { text: string; label: string; what: string }) {
  const [state, setState] = useState<"idle" | "copied" | "manual">("idle");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState("copied");
      setTimeout(() => setState("idle"), 2000);
    } catch {
      setState("manual");
    }
  };
  return (
    <span className="inline-flex items-center gap-2">
      <button type="button" className={buttonClass.quiet} aria-label={`${label} ${what}`} onClick={() => void copy()}>
        {state === "copied" ? "Copied" : label}
      </button>
      {state === "manual" && <input aria-label={what} readOnly value={text} onFocus={(e) => e.currentTarget.select()} className="w-64 rounded border border-slate-300 px-2 py-0.5 font-mono text-xs" />}
    </span>
  );
}
