"use client";

import { useHelperQuery } from "../../../../lib/client/useHelperQuery.ts";

/** What the profile's KubernetesLocalProcessConfig.yaml will do, read by the helper as a connect would read it. */
export function ConfigFilePreview({ path }: { path: string }) {
  const preview = useHelperQuery("config:preview", path ? { path } : null);
  if (preview.kind === "idle" || preview.kind === "waiting") return null;
  if (preview.kind === "failed") {
    return (
      <p role="alert" className="text-xs font-medium text-rose-600">
        {preview.error.message} {preview.error.hint}
      </p>
    );
  }
  const { env, volumes, features, warnings } = preview.data;
  return (
    <div aria-label="Config file preview" className="rounded-md border border-slate-200 bg-slate-50 px-3 py-2 text-xs text-slate-700">
      <p className="mb-1 font-medium">On connect, this file will:</p>
      <ul className="list-inside list-disc space-y-0.5">
        {env.map((entry) => (
          <li key={entry.name}>
            set <code className="font-mono">{entry.name}</code> = <code className="font-mono">{entry.value}</code>
          </li>
        ))}
        {volumes.map((volume) => (
          <li key={volume.name}>
            download volume <code className="font-mono">{volume.name}</code> to <code className="font-mono">{volume.localPath ?? "~/.kbridge/volumes/<session>/"}</code>
          </li>
        ))}
        {features.map((feature) => (
          <li key={feature}>keep the pod&apos;s {feature === "Probes" ? "probes (answered by the agent)" : "lifecycle hooks"}</li>
        ))}
        {env.length + volumes.length + features.length === 0 && <li>do nothing: it has no env, volumeMounts or enableFeatures</li>}
      </ul>
      {warnings.map((warning) => (
        <p key={warning} className="mt-1 text-amber-800">
          {warning}
        </p>
      ))}
    </div>
  );
}
