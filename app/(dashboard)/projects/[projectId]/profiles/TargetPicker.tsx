"use client";

import { useState } from "react";
import type { ServiceView, TargetKind } from "../../../../../helper/protocol/index.ts";
import { buttonClass } from "../../../../components/ui/buttons.ts";
import { useHelperQuery } from "../../../../lib/client/useHelperQuery.ts";
import type { PortRow } from "./PortMappingsField.tsx";

/**
 * The port rows a service suggests: its TCP ports, each served on the workstation at the
 * container's port (below 1024, which needs root, at that port + 8000: 80 → 8080).
 */
export function suggestedPorts(service: ServiceView, kind: TargetKind): PortRow[] {
  return service.ports
    .filter((p) => p.protocol === "TCP")
    .map((p) => {
      const containerPort = String(p.containerPort ?? p.port);
      return { servicePort: kind === "service" ? String(p.port) : containerPort, workstationPort: Number(containerPort) < 1024 ? String(Number(containerPort) + 8000) : containerPort };
    });
}

const readiness = (service: ServiceView) => (service.pods === 0 ? "no pods" : `${service.ready}/${service.pods} ready`);

/**
 * The namespace's services (with ports, workload and ready pods) to pick the target from;
 * picking one fills the target's name and proposes its ports. A text field stays for names
 * the list does not have (a bare pod, a workload without a service).
 */
export function TargetPicker({
  kubeContext,
  namespace,
  targetKind,
  targetName,
  onPick,
}: {
  kubeContext: string;
  namespace: string;
  targetKind: TargetKind;
  targetName: string;
  onPick: (name: string, ports: PortRow[]) => void;
}) {
  const [refresh, setRefresh] = useState(0);
  const services = useHelperQuery("kube:listServices", kubeContext && namespace ? { kubeContext, namespace } : null, refresh);
  if (services.kind === "idle") return <p className="text-sm text-slate-500">Choose a context and a namespace to list their services.</p>;
  if (services.kind === "waiting") return <p className="text-sm text-slate-500">Listing the services of {namespace}…</p>;
  if (services.kind === "failed") {
    return (
      <p role="alert" className="text-sm text-rose-700">
        Cannot list the services of {namespace}: {services.error.message} {services.error.hint}
      </p>
    );
  }
  const rows = targetKind === "service" ? services.data : targetKind === "pod" ? [] : services.data.filter((s) => s.workload?.kind.toLowerCase() === targetKind);
  const nameOf = (service: ServiceView) => (targetKind === "service" ? service.name : (service.workload?.name ?? service.name));
  return (
    <div className="flex flex-col gap-2">
      <div className="flex items-center justify-between">
        <p className="text-sm text-slate-600">
          {rows.length === 0
            ? targetKind === "pod"
              ? "Type the pod's name below."
              : `No ${targetKind === "service" ? "services" : `${targetKind}s behind a service`} in ${namespace}: type the name below.`
            : `Pick the ${targetKind} to connect (live from ${namespace}):`}
        </p>
        <button type="button" className={buttonClass.quiet} onClick={() => setRefresh((n) => n + 1)}>
          Refresh
        </button>
      </div>
      {rows.length > 0 && (
        <ul aria-label={`${targetKind === "service" ? "Services" : "Workloads"} in ${namespace}`} className="max-h-72 divide-y divide-slate-100 overflow-auto rounded-md border border-slate-200">
          {rows.map((service) => {
            const name = nameOf(service);
            const chosen = name === targetName;
            return (
              <li key={`${service.name}/${name}`}>
                <button
                  type="button"
                  aria-pressed={chosen}
                  onClick={() => onPick(name, suggestedPorts(service, targetKind))}
                  className={`flex w-full items-center gap-4 px-3 py-2 text-left text-sm transition ${chosen ? "bg-sky-50 ring-1 ring-inset ring-sky-300" : "hover:bg-slate-50"}`}
                >
                  <span className="min-w-32 font-medium text-slate-900">{name}</span>
                  <span className="flex-1 font-mono text-xs text-slate-600">
                    {service.ports.map((p) => `${p.port}${p.targetPort !== String(p.port) ? `→${p.containerPort ?? p.targetPort}` : ""}/${p.protocol}`).join("  ")}
                    {service.headless ? "  (headless)" : ""}
                    {service.routed ? "  (routed by kbridge isolation)" : ""}
                  </span>
                  <span className="text-xs text-slate-500">{service.workload ? `${service.workload.kind}/${service.workload.name}` : "no workload"}</span>
                  <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${service.pods > 0 && service.ready === service.pods ? "bg-emerald-100 text-emerald-800" : "bg-amber-100 text-amber-800"}`}>{readiness(service)}</span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
