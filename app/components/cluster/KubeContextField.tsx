"use client";

import { SelectField, TextField } from "../ui/Field.tsx";
import { useKubeContexts } from "../../lib/client/useHelperQuery.ts";

/**
 * A picker of the kubeconfig's contexts when the helper can list them; a text field
 * otherwise. `onChange` also passes the chosen context's own namespace, if it has one.
 */
export function KubeContextField({ value, onChange, error }: { value: string; onChange: (value: string, namespace: string | null) => void; error?: string }) {
  const contexts = useKubeContexts();
  if (contexts.kind !== "loaded" || contexts.data.contexts.length === 0) {
    const hint = contexts.kind === "failed" ? contexts.error.message : "Contexts appear here when the helper is connected.";
    return <TextField label="Kube context" value={value} onChange={(e) => onChange(e.target.value, null)} error={error} hint={hint} />;
  }
  const names = contexts.data.contexts.map((context) => context.name);
  const namespaceOf = (name: string) => contexts.data.contexts.find((context) => context.name === name)?.namespace ?? null;
  return (
    <SelectField label="Kube context" value={value} onChange={(e) => onChange(e.target.value, namespaceOf(e.target.value))} error={error}>
      <option value="">Choose a context…</option>
      {value !== "" && !names.includes(value) && <option value={value}>{value} (not in kubeconfig)</option>}
      {names.map((name) => (
        <option key={name} value={name}>
          {name}
          {name === contexts.data.currentContext ? " (current)" : ""}
        </option>
      ))}
    </SelectField>
  );
}
