"use client";

import { useState } from "react";
import { Card } from "../ui/Card.tsx";
import { useHelperQuery } from "../../lib/client/useHelperQuery.ts";
import { KubeContextField } from "./KubeContextField.tsx";
import { NamespaceField } from "./NamespaceField.tsx";

export interface ClusterPlace {
  kubeContext: string;
  namespace: string;
  /** The "Where" card: the context (starting on the kubeconfig's current one, like kubectl) and the namespace. */
  picker: React.ReactNode;
}

interface Place {
  kubeContext: string;
  namespace: string;
}

const storageKey = (page: string) => `kbridge:place:${page}`;

function remembered(page: string): Place | null {
  try {
    const value = JSON.parse(window.localStorage.getItem(storageKey(page)) ?? "null") as Partial<Place> | null;
    return typeof value?.kubeContext === "string" && typeof value.namespace === "string" && value.kubeContext !== "" ? { kubeContext: value.kubeContext, namespace: value.namespace } : null;
  } catch {
    return null;
  }
}

/**
 * Which context and namespace a cluster page shows, chosen in a "Where" card. Each page
 * remembers its last choice in this browser; the first visit starts where kubectl would.
 */
export function useClusterPlace(page: string): ClusterPlace {
  const [place, setPlace] = useState<Place | null>(null);
  const contexts = useHelperQuery("kube:listContexts", {});
  const listed = contexts.kind === "loaded" ? contexts.data : null;
  // Chosen once the contexts arrive (only in the browser: the helper is asked from there).
  if (!place && listed) {
    const last = remembered(page);
    const current = listed.currentContext;
    // A remembered context that left the kubeconfig is not offered again.
    if (last && listed.contexts.some((c) => c.name === last.kubeContext)) setPlace(last);
    // Like kubectl: the context's own namespace, if it names one (a developer's may be the only one they can read).
    else if (current) setPlace({ kubeContext: current, namespace: listed.contexts.find((c) => c.name === current)?.namespace ?? "default" });
  }
  const choose = (next: Place) => {
    setPlace(next);
    try {
      window.localStorage.setItem(storageKey(page), JSON.stringify(next));
    } catch {
      // Storage refused (private mode, quota): the choice holds for this visit.
    }
  };
  const kubeContext = place?.kubeContext ?? "";
  const namespace = place?.namespace ?? "default";
  const picker = (
    <Card title="Where" labelledBy="where-title">
      <div className="grid gap-4 sm:grid-cols-2">
        <KubeContextField value={kubeContext} onChange={(context, contextNamespace) => choose({ kubeContext: context, namespace: contextNamespace ?? namespace })} />
        <NamespaceField kubeContext={kubeContext} value={namespace} onChange={(value) => choose({ kubeContext, namespace: value })} />
      </div>
    </Card>
  );
  return { kubeContext, namespace, picker };
}
