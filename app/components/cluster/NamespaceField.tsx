"use client";

import { SelectField, TextField } from "../ui/Field.tsx";
import { useHelperQuery } from "../../lib/client/useHelperQuery.ts";

/**
 * The namespaces of a context, live from the cluster through the helper; without a helper
 * (or a cluster), or for a user who may not list namespaces, a text field that says why.
 */
const unreachable = (message: string, hint?: string) => `${message}${hint ? ` ${hint}` : ""}`;

export function NamespaceField({ kubeContext, value, onChange, error }: { kubeContext: string; value: string; onChange: (value: string) => void; error?: string }) {
  const namespaces = useHelperQuery("kube:listNamespaces", kubeContext ? { kubeContext } : null);
  if (namespaces.kind !== "loaded") {
    const why = namespaces.kind === "failed" ? unreachable(namespaces.error.message, namespaces.error.hint) : undefined;
    const hint = namespaces.kind === "waiting" ? `Listing the namespaces of ${kubeContext}…` : namespaces.kind === "idle" ? "Choose a context to list its namespaces." : undefined;
    return <TextField label="Namespace" value={value} onChange={(e) => onChange(e.target.value)} error={error ?? why} hint={hint} />;
  }
  if (!namespaces.data.listed) {
    return <TextField label="Namespace" value={value} onChange={(e) => onChange(e.target.value)} error={error} hint={`${namespaces.data.reason ?? "The namespaces cannot be listed."} Type the namespace you work in.`} />;
  }
  const names = namespaces.data.namespaces.map((n) => n.name);
  return (
    <SelectField label="Namespace" value={value} onChange={(e) => onChange(e.target.value)} error={error} hint={`${names.length} namespaces in ${kubeContext}`}>
      {value !== "" && !names.includes(value) && <option value={value}>{value} (not in the cluster)</option>}
      {value === "" && <option value="">Choose a namespace…</option>}
      {names.map((name) => (
        <option key={name} value={name}>
          {name}
        </option>
      ))}
    </SelectField>
  );
}

