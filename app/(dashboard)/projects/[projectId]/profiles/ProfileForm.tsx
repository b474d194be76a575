"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition, type FormEvent } from "react";
import {
  fieldErrors,
  formatEnvLines,
  parseEnvLines,
  privilegeModes,
  profileInputSchema,
  targetKinds,
  type ErrorInfo,
  type PrivilegeMode,
  type TargetKind,
} from "../../../../../helper/protocol/index.ts";
import { Card } from "../../../../components/ui/Card.tsx";
import { ErrorNotice } from "../../../../components/ui/ErrorNotice.tsx";
import { SelectField, TextAreaField, TextField } from "../../../../components/ui/Field.tsx";
import { buttonClass } from "../../../../components/ui/buttons.ts";
import type { ProfileDto, ProjectDto } from "../../../../lib/dto.ts";
import type { ProfileDraftValues } from "../../../../lib/profileFile.ts";
import { inProjectFolder } from "../../../../lib/projectPaths.ts";
import { deleteProfileAction, saveProfileAction } from "../../actions.ts";
import { KubeContextField } from "../../../../components/cluster/KubeContextField.tsx";
import { NamespaceField } from "../../../../components/cluster/NamespaceField.tsx";
import { ConfigFilePreview } from "./ConfigFilePreview.tsx";
import { TargetPicker } from "./TargetPicker.tsx";
import { PortMappingsField, type PortRow } from "./PortMappingsField.tsx";

const PRIVILEGE_LABELS: Record<PrivilegeMode, string> = {
  auto: "Automatic: hosts file when writable, else ports on 127.0.0.1",
  hosts: "Hosts file: services by their cluster names (needs write access)",
  unprivileged: "Unprivileged: no hosts file, services on 127.0.0.1 ports",
};

/** The value at a dotted path ("portMappings.0.servicePort") of a plain object. */
function valueAt(value: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((at, key) => (at !== null && typeof at === "object" ? (at as Record<string, unknown>)[key] : undefined), value);
}

/** Creates or edits a profile, validating inline with the same schema the server uses. */
export function ProfileForm({ project, profile, draft = {} }: { project: ProjectDto; profile?: ProfileDto; draft?: ProfileDraftValues }) {
  const router = useRouter();
  const [name, setName] = useState(profile?.name ?? draft.name ?? "");
  const [kubeContext, setKubeContext] = useState(profile?.kubeContext ?? draft.kubeContext ?? "");
  const [namespace, setNamespace] = useState(profile?.namespace ?? draft.namespace ?? "default");
  const [targetKind, setTargetKind] = useState<TargetKind>(profile?.targetKind ?? draft.targetKind ?? "service");
  const [targetName, setTargetName] = useState(profile?.targetName ?? draft.targetName ?? "");
  const [container, setContainer] = useState(profile?.container ?? draft.container ?? "");
  const [ports, setPorts] = useState<PortRow[]>(
    profile?.portMappings.map((m) => ({ servicePort: String(m.servicePort), workstationPort: String(m.workstationPort) })) ?? draft.portMappings ?? [{ servicePort: "", workstationPort: "" }],
  );
  // Ports proposed by the picked target are replaced when another is picked; typed ones stay.
  const [portsFromPick, setPortsFromPick] = useState(false);
  const [launchCommand, setLaunchCommand] = useState(profile?.launchCommand ?? draft.launchCommand ?? "");
  const [workingDirectory, setWorkingDirectory] = useState(profile?.workingDirectory ?? draft.workingDirectory ?? "");
  const [isolated, setIsolated] = useState(profile?.isolated ?? draft.isolated ?? false);
  const [routingKey, setRoutingKey] = useState(profile?.routingKey ?? draft.routingKey ?? "");
  const [envText, setEnvText] = useState(formatEnvLines(profile?.envOverrides ?? draft.envOverrides ?? {}));
  const [configFilePath, setConfigFilePath] = useState(profile?.configFilePath ?? draft.configFilePath ?? "");
  const [privilegeMode, setPrivilegeMode] = useState<PrivilegeMode>(profile?.privilegeMode ?? draft.privilegeMode ?? "auto");
  const [agentImage, setAgentImage] = useState(profile?.agentImage ?? draft.agentImage ?? "");
  const [keepProbes, setKeepProbes] = useState(profile?.keepProbes ?? draft.keepProbes ?? false);
  const [keepLifecycleHooks, setKeepLifecycleHooks] = useState(profile?.keepLifecycleHooks ?? draft.keepLifecycleHooks ?? false);
  const [fieldErrorsAtSubmit, setFields] = useState<Record<string, string>>({});
  const [failed, setFailedInput] = useState<unknown>(null);
  const [failedEnvText, setFailedEnvText] = useState("");
  const setFailed = (value: unknown) => {
    setFailedInput(value);
    setFailedEnvText(envText);
  };
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [pending, startTransition] = useTransition();

  const env = parseEnvLines(envText);
  const input = {
    name,
    kubeContext,
    namespace,
    targetKind,
    targetName,
    container,
    portMappings: ports,
    launchCommand,
    workingDirectory,
    isolated,
    routingKey: isolated ? routingKey : "",
    envOverrides: env.env,
    configFilePath,
    privilegeMode,
    agentImage,
    keepProbes,
    keepLifecycleHooks,
  };
  // A field's error shows until its value changes (the user is fixing it).
  const fields = Object.fromEntries(Object.entries(fieldErrorsAtSubmit).filter(([key]) => key === "envOverrides" ? envText === failedEnvText : valueAt(input, key) === valueAt(failed, key)));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const checked = profileInputSchema.safeParse(input);
    const found = { ...(checked.success ? {} : fieldErrors(checked.error)), ...(env.errors[0] ? { envOverrides: env.errors[0] } : {}) };
    if (Object.keys(found).length > 0) {
      setFields(found);
      setFailed(input);
      setError({ code: "invalid-input", category: "user", message: "Some fields need attention.", hint: "Fix the fields marked in red, then save again." });
      return;
    }
    startTransition(async () => {
      const result = await saveProfileAction(project.id, profile?.id ?? null, input);
      if (!result.ok) {
        setFields(result.error.fields ?? {});
        setFailed(input);
        setError(result.error);
        return;
      }
      router.push(`/projects/${project.id}`);
      router.refresh();
    });
  };

  const remove = () => {
    if (!profile || !window.confirm(`Delete profile "${profile.name}" and its session history?`)) return;
    startTransition(async () => {
      const result = await deleteProfileAction(project.id, profile.id);
      if (!result.ok) return setError(result.error);
      router.push(`/projects/${project.id}`);
      router.refresh();
    });
  };

  return (
    <form onSubmit={submit} noValidate aria-label={profile ? "Edit profile" : "New profile"} className="flex max-w-3xl flex-col gap-6">
      {error && <ErrorNotice error={error} />}
      <Card title="Target" labelledBy="target-title">
        <div className="grid gap-4 sm:grid-cols-2">
          <TextField label="Profile name" value={name} onChange={(e) => setName(e.target.value)} error={fields.name} placeholder="api" />
          <KubeContextField
            value={kubeContext}
            onChange={(context, contextNamespace) => {
              setKubeContext(context);
              // Follow the context's namespace until the user has typed one of their own.
              if (contextNamespace && (namespace === "" || namespace === "default")) setNamespace(contextNamespace);
            }}
            error={fields.kubeContext}
          />
          <NamespaceField kubeContext={kubeContext} value={namespace} onChange={setNamespace} error={fields.namespace} />
          <SelectField label="Target kind" value={targetKind} onChange={(e) => setTargetKind(e.target.value as TargetKind)} error={fields.targetKind}>
            {targetKinds.map((kind) => (
              <option key={kind} value={kind}>
                {kind}
              </option>
            ))}
          </SelectField>
          <div className="sm:col-span-2">
            <TargetPicker
              kubeContext={kubeContext}
              namespace={namespace}
              targetKind={targetKind}
              targetName={targetName}
              onPick={(picked, suggested) => {
                if (!name || name === targetName) setName(picked);
                setTargetName(picked);
                if (suggested.length > 0 && (portsFromPick || ports.every((row) => row.servicePort === "" && row.workstationPort === ""))) {
                  setPorts(suggested);
                  setPortsFromPick(true);
                } else if (ports.some((row) => row.servicePort === "" && row.workstationPort !== "")) {
                  // Workstation ports without service ports (an imported Bridge to Kubernetes task): the service's, in order.
                  setPorts(ports.map((row, i) => (row.servicePort === "" && suggested[i] ? { ...row, servicePort: suggested[i].servicePort } : row)));
                }
              }}
            />
          </div>
          <TextField label="Target name" value={targetName} onChange={(e) => setTargetName(e.target.value)} error={fields.targetName} placeholder="orders" />
          <TextField
            label="Container (optional)"
            value={container}
            onChange={(e) => setContainer(e.target.value)}
            error={fields.container}
            hint="Leave empty to let kbridge choose: the default-container annotation, the only app container, or the one serving the ports."
          />
        </div>
      </Card>
      <Card title="Ports" labelledBy="ports-title">
        <PortMappingsField
          rows={ports}
          onChange={(rows) => {
            setPorts(rows);
            setPortsFromPick(false);
          }}
          errors={fields}
        />
      </Card>
      <Card title="Workstation process" labelledBy="process-title">
        <div className="grid gap-4">
          <TextField label="Launch command" value={launchCommand} onChange={(e) => setLaunchCommand(e.target.value)} error={fields.launchCommand} placeholder="npm run dev" hint="Run with the pod's environment when the session connects. Leave empty to start your process yourself." />
          <TextField label="Working directory" value={workingDirectory} onChange={(e) => setWorkingDirectory(e.target.value)} error={fields.workingDirectory} placeholder={project.folderPath} hint="Defaults to the project folder." />
          <TextAreaField label="Environment overrides" value={envText} onChange={(e) => setEnvText(e.target.value)} error={fields.envOverrides} rows={3} placeholder={"LOG_LEVEL=debug"} hint="One NAME=value per line; these win over the pod's values." />
          <TextField label="Config file (optional)" value={configFilePath} onChange={(e) => setConfigFilePath(e.target.value)} error={fields.configFilePath} placeholder="KubernetesLocalProcessConfig.yaml" hint="A Bridge to Kubernetes KubernetesLocalProcessConfig.yaml, relative to the project folder." />
          <ConfigFilePreview path={configFilePath.trim() === "" ? "" : inProjectFolder(project.folderPath, configFilePath)} />
        </div>
      </Card>
      <Card title="Mode" labelledBy="mode-title">
        <div className="grid gap-4">
          <SelectField label="Privilege mode" value={privilegeMode} onChange={(e) => setPrivilegeMode(e.target.value as PrivilegeMode)} error={fields.privilegeMode}>
            {privilegeModes.map((mode) => (
              <option key={mode} value={mode}>
                {PRIVILEGE_LABELS[mode]}
              </option>
            ))}
          </SelectField>
          <label className="flex items-center gap-2 text-sm font-medium text-slate-700">
            <input type="checkbox" checked={isolated} onChange={(e) => setIsolated(e.target.checked)} className="h-4 w-4 rounded border-slate-300" />
            Isolated: only requests carrying my routing key reach this workstation
          </label>
          {isolated && (
            <TextField label="Routing key (optional)" value={routingKey} onChange={(e) => setRoutingKey(e.target.value)} error={fields.routingKey} placeholder="alice-3f2a" hint="Leave empty for <user>-<4 hex>, chosen when you save and kept with the profile: your personal URL is <key>.<ingress host>." />
          )}
        </div>
      </Card>
      <Card title="Agent in the cluster" labelledBy="agent-title">
        <div className="grid gap-4">
          <TextField
            label="Agent image (optional)"
            value={agentImage}
            onChange={(e) => setAgentImage(e.target.value)}
            error={fields.agentImage}
            placeholder="node:22-alpine"
            hint="Any image with Node.js 18 or later. Set it when your cluster cannot pull from Docker Hub (air-gapped or mirrored registries)."
          />
          <label className="flex items-center gap-2 text-sm font-medium text-slate-700">
            <input type="checkbox" checked={keepProbes} onChange={(e) => setKeepProbes(e.target.checked)} className="h-4 w-4 rounded border-slate-300" />
            Keep liveness and startup probes: the agent answers them, so the pod stays healthy
          </label>
          <label className="flex items-center gap-2 text-sm font-medium text-slate-700">
            <input type="checkbox" checked={keepLifecycleHooks} onChange={(e) => setKeepLifecycleHooks(e.target.checked)} className="h-4 w-4 rounded border-slate-300" />
            Keep lifecycle hooks (postStart, preStop): they run in the agent&apos;s image
          </label>
        </div>
      </Card>
      <div className="flex items-center gap-2">
        <button type="submit" className={buttonClass.primary} disabled={pending}>
          {pending ? "Saving…" : profile ? "Save profile" : "Create profile"}
        </button>
        <button type="button" className={buttonClass.secondary} onClick={() => router.push(`/projects/${project.id}`)}>
          Cancel
        </button>
        {profile && (
          <button type="button" className={`${buttonClass.danger} ml-auto`} onClick={remove} disabled={pending}>
            Delete profile
          </button>
        )}
      </div>
    </form>
  );
}
