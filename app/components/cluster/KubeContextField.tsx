"use client";

import { useEffect, useRef } from "react";
import { SelectField, TextField } from "../ui/Field.tsx";
import { useKubeContexts } from "../../lib/client/useHelperQuery.ts";

/**
 * A picker of the kubeconfig's contexts when the helper can list them; a text field
 * otherwise. `onChange` also passes the chosen context's own namespace, if it has one.
 * With `preselect`, an empty value becomes the kubeconfig's current context (or its only one), as kubectl would use.
 */
export function KubeContextField({ value, onChange, error, preselect = false }: { value: string; onChange: (value: string, namespace: string | null) => void; error?: string; preselect?: boolean }) {
  const contexts = useKubeContexts();
  const listed = contexts.kind === "loaded" ? contexts.data : null;
  const choice = listed?.currentContext ?? (listed?.contexts.length === 1 ? listed.contexts[0]?.name : undefined);
  // Once, when the list first arrives: a context the user clears afterwards stays cleared.
  const preselected = useRef(false);
  useEffect(() => {
    if (!preselect || preselected.current || !listed) return;
    preselected.current = true;
    if (value === "" && choice) onChange(choice, listed.contexts.find((context) => context.name === choice)?.namespace ?? null);
  }, [preselect, listed, value, choice, onChange]);
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
