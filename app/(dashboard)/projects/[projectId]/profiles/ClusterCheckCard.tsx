"use client";

import { useState } from "react";
import type { ErrorInfo, PreflightView } from "../../../../../helper/protocol/index.ts";
import { PreflightChecks } from "../../../../components/cluster/PreflightChecks.tsx";
import { Card } from "../../../../components/ui/Card.tsx";
import { ErrorNotice } from "../../../../components/ui/ErrorNotice.tsx";
import { buttonClass } from "../../../../components/ui/buttons.ts";
import { useHelper } from "../../../../lib/client/HelperContext.tsx";
import type { ProfileFormValues } from "./profileFormState.ts";

/**
 * "Check this cluster": connect's preflight for the profile as typed, before saving — rights,
 * restorer identity, dry runs of the pods, GitOps, the agent image. Nothing changes in the cluster.
 */
export function ClusterCheckCard({ values }: { values: ProfileFormValues }) {
  const { state, send } = useHelper();
  const [checked, setChecked] = useState<{ key: string; report: PreflightView } | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [busy, setBusy] = useState(false);
  const input = {
    kubeContext: values.kubeContext.trim(),
    target: { kind: values.targetKind, name: values.targetName.trim(), namespace: values.namespace.trim(), container: values.container.trim() },
    isolate: values.isolated,
    ...(values.agentImage.trim() ? { agentImage: values.agentImage.trim() } : {}),
    ...(Object.values(values.podResources).some((v) => v.trim() !== "") ? { podResources: values.podResources } : {}),
  };
  const key = JSON.stringify(input);
  const missing = !input.kubeContext || !input.target.namespace || !input.target.name;
  const check = async () => {
    setBusy(true);
    setError(null);
    const result = await send("cluster:check", input);
    setBusy(false);
    if (result.ok) setChecked({ key, report: result.data });
    else {
      setChecked(null);
      setError(result.error);
    }
  };
  const hint = state !== "connected" ? "The helper is not connected." : missing ? "Choose a context, a namespace and a target first." : checked && checked.key !== key ? "The profile changed since this check: check again." : null;
  return (
    <Card
      title="Check this cluster"
      labelledBy="check-title"
      actions={
        <button type="button" className={buttonClass.secondary} disabled={busy || missing || state !== "connected"} onClick={() => void check()}>
          {busy ? "Checking…" : "Check this cluster"}
        </button>
      }
    >
      <div className="flex flex-col gap-3 text-sm">
        <p className="text-slate-600">Asks the cluster, without changing it, whether Connect will work for this target: your rights, the restorer&apos;s identity, the pods kbridge will create, GitOps controllers, the agent image.</p>
        {hint && <p className="text-slate-500">{hint}</p>}
        {error && <ErrorNotice error={error} />}
        {checked && <PreflightChecks report={checked.report} label="Cluster checks" failed="Connect would stop there, before changing anything" />}
      </div>
    </Card>
  );
}
