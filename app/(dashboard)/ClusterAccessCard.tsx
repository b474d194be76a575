"use client";

import { Card } from "../components/ui/Card.tsx";
import { ErrorNotice } from "../components/ui/ErrorNotice.tsx";
import { useHelper } from "../lib/client/HelperContext.tsx";
import { useKubeContexts } from "../lib/client/useHelperQuery.ts";

/** The helper's view of the workstation: which kubeconfig it reads and the contexts in it. */
export function ClusterAccessCard() {
  const { state, status } = useHelper();
  const contexts = useKubeContexts();
  return (
    <Card title="Cluster access" labelledBy="cluster-access-title">
      {state !== "connected" && contexts.kind === "waiting" && <p className="text-sm text-slate-500">Waiting for the helper to list your kubeconfig&apos;s contexts…</p>}
      {status && (
        <p className="mb-3 text-sm text-slate-600">
          Kubeconfig: <code className="rounded bg-slate-100 px-1.5 py-0.5 text-xs">{status.kubeconfig.join(":")}</code>
        </p>
      )}
      {contexts.kind === "failed" && <ErrorNotice error={contexts.error} />}
      {contexts.kind === "loaded" && contexts.data.contexts.length === 0 && <p className="text-sm text-slate-600">The kubeconfig has no contexts.</p>}
      {contexts.kind === "loaded" && contexts.data.contexts.length > 0 && (
        <table aria-label="Kube contexts" className="w-full text-left text-sm">
          <thead className="text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th className="py-2 pr-4 font-medium">Context</th>
              <th className="py-2 pr-4 font-medium">Cluster</th>
              <th className="py-2 pr-4 font-medium">API server</th>
              <th className="py-2 font-medium">Namespace</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {contexts.data.contexts.map((context) => (
              <tr key={context.name}>
                <td className="py-2 pr-4 font-medium text-slate-900">
                  {context.name}
                  {context.name === contexts.data.currentContext && (
                    <span className="ml-2 rounded-full bg-sky-100 px-2 py-0.5 text-xs font-medium text-sky-800">current</span>
                  )}
                </td>
                <td className="py-2 pr-4 text-slate-600">{context.cluster}</td>
                <td className="py-2 pr-4 font-mono text-xs text-slate-600">{context.server ?? "—"}</td>
                <td className="py-2 text-slate-600">{context.namespace ?? "default"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
