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

/** Which context and namespace a cluster page shows, chosen in a "Where" card. */
export function useClusterPlace(): ClusterPlace {
  const [kubeContext, setKubeContext] = useState("");
  const [namespace, setNamespace] = useState("default");
  const contexts = useHelperQuery("kube:listContexts", {});
  const current = contexts.kind === "loaded" ? contexts.data.currentContext : null;
  if (kubeContext === "" && current) {
    setKubeContext(current);
    // Like kubectl: the context's own namespace, if it names one (a developer's may be the only one they can read).
    const own = contexts.kind === "loaded" ? contexts.data.contexts.find((c) => c.name === current)?.namespace : undefined;
    if (own) setNamespace(own);
  }
  const picker = (
    <Card title="Where" labelledBy="where-title">
      <div className="grid gap-4 sm:grid-cols-2">
        <KubeContextField
          value={kubeContext}
          onChange={(context, contextNamespace) => {
            setKubeContext(context);
            if (contextNamespace) setNamespace(contextNamespace);
          }}
        />
        <NamespaceField kubeContext={kubeContext} value={namespace} onChange={setNamespace} />
      </div>
    </Card>
  );
  return { kubeContext, namespace, picker };
}
