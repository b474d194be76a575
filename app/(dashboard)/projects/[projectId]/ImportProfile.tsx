"use client";

import Link from "next/link";
import { useState } from "react";
import { Card } from "../../../components/ui/Card.tsx";
import { buttonClass } from "../../../components/ui/buttons.ts";
import { encodeDraft, importProfileFile, type ImportResult } from "../../../lib/profileFile.ts";

/**
 * Import: a kbridge profile file, a `.vscode/tasks.json` with Bridge to Kubernetes tasks, or
 * a `KubernetesLocalProcessConfig.yaml` — picked or pasted, recognised by what it holds. Each
 * draft opens the profile form filled in, to complete and save.
 */
export function ImportProfile({ projectId }: { projectId: number }) {
  const [result, setResult] = useState<ImportResult | null>(null);
  const [pasted, setPasted] = useState("");

  const read = async (file: File | undefined) => {
    if (file) setResult(importProfileFile(file.name, await file.text()));
  };

  return (
    <Card title="Import a profile" labelledBy="import-title">
      <div className="flex flex-col gap-3 text-sm">
        <p className="text-slate-600">
          From a kbridge profile file (<code className="font-mono">*.kbridge.yaml</code>, exported from a profile), the Bridge to Kubernetes tasks in{" "}
          <code className="font-mono">.vscode/tasks.json</code>, or a <code className="font-mono">KubernetesLocalProcessConfig.yaml</code>.
        </p>
        <label className="flex items-center gap-3 text-slate-700">
          <span className="font-medium">File</span>
          <input type="file" aria-label="Profile file" accept=".yaml,.yml,.json,.jsonc" onChange={(e) => void read(e.target.files?.[0])} className="text-sm" />
        </label>
        <details>
          <summary className="cursor-pointer text-sky-700">…or paste it</summary>
          <div className="mt-2 flex flex-col gap-2">
            <textarea aria-label="Pasted file" rows={6} value={pasted} onChange={(e) => setPasted(e.target.value)} className="rounded-md border border-slate-300 p-2 font-mono text-xs" />
            <div>
              <button type="button" className={buttonClass.secondary} disabled={pasted.trim() === ""} onClick={() => setResult(importProfileFile(null, pasted))}>
                Read it
              </button>
            </div>
          </div>
        </details>
        {result && !result.ok && (
          <p role="alert" className="rounded-md border border-rose-200 bg-rose-50 px-3 py-2 text-rose-800">
            {result.error}
          </p>
        )}
        {result?.ok && (
          <ul aria-label="Imported drafts" className="flex flex-col gap-2">
            {result.drafts.map((draft) => (
              <li key={draft.label} className="flex items-start justify-between gap-4 rounded-md border border-slate-200 px-3 py-2">
                <div>
                  <p className="font-medium text-slate-800">{draft.label}</p>
                  {draft.notes.map((note) => (
                    <p key={note} className="text-xs text-slate-500">
                      {note}
                    </p>
                  ))}
                </div>
                <Link href={`/projects/${projectId}/profiles/new?draft=${encodeDraft(draft.values)}`} className={buttonClass.primary}>
                  Continue in the form
                </Link>
              </li>
            ))}
          </ul>
        )}
      </div>
    </Card>
  );
}
