"use client";

/** The profile form's cards: target, ports, workstation process, mode, agent. Each edits its fields of one state object. */
import { privilegeModes, targetKinds, type PrivilegeMode, type TargetKind } from "../../../../../helper/protocol/index.ts";
import { Card } from "../../../../components/ui/Card.tsx";
import { SelectField, TextAreaField, TextField } from "../../../../components/ui/Field.tsx";
import { KubeContextField } from "../../../../components/cluster/KubeContextField.tsx";
import { NamespaceField } from "../../../../components/cluster/NamespaceField.tsx";
import type { ProjectDto } from "../../../../lib/dto.ts";
import { inProjectFolder } from "../../../../lib/projectPaths.ts";
import { ConfigFilePreview } from "./ConfigFilePreview.tsx";
import { PortMappingsField } from "./PortMappingsField.tsx";
import { withPickedTarget, type ProfileFormValues, type SetField } from "./profileFormState.ts";
import { TargetPicker } from "./TargetPicker.tsx";

interface SectionProps {
  values: ProfileFormValues;
  set: SetField;
  /** Field errors by field path. */
  fields: Record<string, string>;
}

/** Changes several fields at once, from the current values. */
type Update = (change: (current: ProfileFormValues) => ProfileFormValues) => void;

const PRIVILEGE_LABELS: Record<PrivilegeMode, string> = {
  auto: "Automatic: hosts file when writable, else ports on 127.0.0.1",
  hosts: "Hosts file: services by their cluster names (needs write access)",
  unprivileged: "Unprivileged: no hosts file, services on 127.0.0.1 ports",
};

export function TargetSection({ values, set, fields, update, isNew }: SectionProps & { update: Update; isNew: boolean }) {
  const { name, kubeContext, namespace, targetKind, targetName, container } = values;
  return (
    <Card title="Target" labelledBy="target-title">
      <div className="grid gap-4 sm:grid-cols-2">
        <TextField label="Profile name" value={name} onChange={(e) => set("name", e.target.value)} error={fields.name} placeholder="api" />
        <KubeContextField
          value={kubeContext}
          onChange={(context, contextNamespace) => {
            // Follow the context's namespace until the user has typed one of their own.
            update((current) => ({ ...current, kubeContext: context, ...(contextNamespace && (current.namespace === "" || current.namespace === "default") ? { namespace: contextNamespace } : {}) }));
          }}
          error={fields.kubeContext}
          preselect={isNew}
        />
        <NamespaceField kubeContext={kubeContext} value={namespace} onChange={(value) => set("namespace", value)} error={fields.namespace} />
        <SelectField label="Target kind" value={targetKind} onChange={(e) => set("targetKind", e.target.value as TargetKind)} error={fields.targetKind}>
          {targetKinds.map((kind) => (
            <option key={kind} value={kind}>
              {kind}
            </option>
          ))}
        </SelectField>
        <div className="sm:col-span-2">
          <TargetPicker kubeContext={kubeContext} namespace={namespace} targetKind={targetKind} targetName={targetName} onPick={(picked, suggested) => update((current) => withPickedTarget(current, picked, suggested))} />
        </div>
        <TextField label="Target name" value={targetName} onChange={(e) => set("targetName", e.target.value)} error={fields.targetName} placeholder="orders" />
        <TextField
          label="Container (optional)"
          value={container}
          onChange={(e) => set("container", e.target.value)}
          error={fields.container}
          hint="Leave empty to let kbridge choose: the default-container annotation, the only app container, or the one serving the ports."
        />
      </div>
    </Card>
  );
}

export function PortsSection({ values, fields, update }: Omit<SectionProps, "set"> & { update: Update }) {
  return (
    <Card title="Ports" labelledBy="ports-title">
      <PortMappingsField rows={values.ports} onChange={(rows) => update((current) => ({ ...current, ports: rows, portsFromPick: false }))} errors={fields} />
    </Card>
  );
}

export function ProcessSection({ values, set, fields, project }: SectionProps & { project: ProjectDto }) {
  const { launchCommand, workingDirectory, envText, configFilePath } = values;
  return (
    <Card title="Workstation process" labelledBy="process-title">
      <div className="grid gap-4">
        <TextField label="Launch command" value={launchCommand} onChange={(e) => set("launchCommand", e.target.value)} error={fields.launchCommand} placeholder="npm run dev" hint="Run with the pod's environment when the session connects. Leave empty to start your process yourself." />
        <TextField label="Working directory" value={workingDirectory} onChange={(e) => set("workingDirectory", e.target.value)} error={fields.workingDirectory} placeholder={project.folderPath} hint="Defaults to the project folder." />
        <TextAreaField label="Environment overrides" value={envText} onChange={(e) => set("envText", e.target.value)} error={fields.envOverrides} rows={3} placeholder={"LOG_LEVEL=debug"} hint="One NAME=value per line; these win over the pod's values." />
        <TextField label="Config file (optional)" value={configFilePath} onChange={(e) => set("configFilePath", e.target.value)} error={fields.configFilePath} placeholder="KubernetesLocalProcessConfig.yaml" hint="A Bridge to Kubernetes KubernetesLocalProcessConfig.yaml, relative to the project folder." />
        <ConfigFilePreview path={configFilePath.trim() === "" ? "" : inProjectFolder(project.folderPath, configFilePath)} />
      </div>
    </Card>
  );
}

export function ModeSection({ values, set, fields }: SectionProps) {
  return (
    <Card title="Mode" labelledBy="mode-title">
      <div className="grid gap-4">
        <SelectField label="Privilege mode" value={values.privilegeMode} onChange={(e) => set("privilegeMode", e.target.value as PrivilegeMode)} error={fields.privilegeMode}>
          {privilegeModes.map((mode) => (
            <option key={mode} value={mode}>
              {PRIVILEGE_LABELS[mode]}
            </option>
          ))}
        </SelectField>
        <label className="flex items-center gap-2 text-sm font-medium text-slate-700">
          <input type="checkbox" checked={values.isolated} onChange={(e) => set("isolated", e.target.checked)} className="h-4 w-4 rounded border-slate-300" />
          Isolated: only requests carrying my routing key reach this workstation
        </label>
        {values.isolated && (
          <TextField label="Routing key (optional)" value={values.routingKey} onChange={(e) => set("routingKey", e.target.value)} error={fields.routingKey} placeholder="alice-3f2a" hint="Leave empty for <user>-<4 hex>, chosen when you save and kept with the profile: your personal URL is <key>.<ingress host>." />
        )}
      </div>
    </Card>
  );
}

export function AgentSection({ values, set, fields }: SectionProps) {
  return (
    <Card title="Agent in the cluster" labelledBy="agent-title">
      <div className="grid gap-4">
        <TextField
          label="Agent image (optional)"
          value={values.agentImage}
          onChange={(e) => set("agentImage", e.target.value)}
          error={fields.agentImage}
          placeholder="node:22-alpine"
          hint="Any image with Node.js 18 or later. Set it when your cluster cannot pull from Docker Hub (air-gapped or mirrored registries)."
        />
        <label className="flex items-center gap-2 text-sm font-medium text-slate-700">
          <input type="checkbox" checked={values.keepProbes} onChange={(e) => set("keepProbes", e.target.checked)} className="h-4 w-4 rounded border-slate-300" />
          Keep liveness and startup probes: the agent answers them, so the pod stays healthy
        </label>
        <PodResourcesFields values={values} set={set} fields={fields} />
        <label className="flex items-center gap-2 text-sm font-medium text-slate-700">
          <input type="checkbox" checked={values.keepLifecycleHooks} onChange={(e) => set("keepLifecycleHooks", e.target.checked)} className="h-4 w-4 rounded border-slate-300" />
          Keep lifecycle hooks (postStart, preStop): they run in the agent&apos;s image
        </label>
      </div>
    </Card>
  );
}

const RESOURCE_FIELDS = [
  ["cpuRequest", "CPU request"],
  ["cpuLimit", "CPU limit"],
  ["memoryRequest", "Memory request"],
  ["memoryLimit", "Memory limit"],
] as const;

/** Requests and limits for kbridge's own pods, for namespaces whose LimitRanges or quotas want other values. */
function PodResourcesFields({ values, set, fields }: SectionProps) {
  return (
    <fieldset className="grid gap-4 sm:grid-cols-4">
      <legend className="mb-2 text-sm font-medium text-slate-700">Requests and limits of kbridge&apos;s restorer and routers, for namespaces whose LimitRanges or quotas want others</legend>
      {RESOURCE_FIELDS.map(([key, label]) => (
        <TextField key={key} label={label} value={values.podResources[key]} onChange={(e) => set("podResources", { ...values.podResources, [key]: e.target.value })} error={fields[`podResources.${key}`]} placeholder="default" />
      ))}
      <p className="text-xs text-slate-500 sm:col-span-4">Empty fields keep kbridge&apos;s defaults: restorer 10m–100m CPU, 32–96Mi memory; routers 20m–200m, 48–192Mi. The agent keeps your container&apos;s own.</p>
    </fieldset>
  );
}
