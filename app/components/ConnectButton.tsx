"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ErrorInfo, SessionStart, SessionView } from "../../helper/protocol/index.ts";
import { SessionActions } from "./SessionActions.tsx";
import { ErrorNotice } from "./ui/ErrorNotice.tsx";
import { buttonClasses, type ButtonSize } from "./ui/buttons.ts";
import { useHelper } from "../lib/client/HelperContext.tsx";
import { useLiveSession } from "../lib/client/useLiveSession.tsx";
import type { ProfileDto, ProjectDto } from "../lib/dto.ts";
import { inProjectFolder } from "../lib/projectPaths.ts";

/** What a profile asks the helper for: its target and ports, its process in the project's folder, its config file. */
export function sessionStartOf(project: ProjectDto, profile: ProfileDto): SessionStart {
  const inProject = (p: string) => inProjectFolder(project.folderPath, p);
  return {
    kubeContext: profile.kubeContext,
    namespace: profile.namespace,
    targetKind: profile.targetKind,
    targetName: profile.targetName,
    container: profile.container,
    ports: profile.portMappings.map((m) => ({ port: m.servicePort, workstationPort: m.workstationPort })),
    privilegeMode: profile.privilegeMode,
    agentImage: profile.agentImage,
    keepProbes: profile.keepProbes,
    keepLifecycleHooks: profile.keepLifecycleHooks,
    ...(Object.values(profile.podResources).some(Boolean) ? { podResources: profile.podResources } : {}),
    env: profile.envOverrides,
    ...(profile.launchCommand ? { launch: { command: profile.launchCommand, cwd: inProject(profile.workingDirectory || project.folderPath) } } : {}),
    ...(profile.configFilePath ? { configFile: inProject(profile.configFilePath) } : {}),
    ...(profile.isolated ? { isolate: { routingKey: profile.routingKey } } : {}),
    profileId: profile.id,
  };
}

const sessionLabel = (live: SessionView) =>
  live.state === "interrupted" ? "Interrupted session" : live.state === "restoring" ? "Disconnecting…" : (live.problems?.length ?? 0) > 0 ? `Session ${live.state} · problem` : `Session ${live.state}`;

/**
 * Starts a session for the profile and opens its page — unless the profile is connected
 * already (from here, the CLI, or before a helper restart): then its session is offered, to
 * open or to disconnect, never a second Connect.
 */
export function ConnectButton({ project, profile, size = "normal" }: { project: ProjectDto; profile: ProfileDto; size?: ButtonSize }) {
  const helper = useHelper();
  const router = useRouter();
  const live = useLiveSession(profile);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [pending, startTransition] = useTransition();
  const connect = () =>
    startTransition(async () => {
      setError(null);
      const started = await helper.send("session:start", sessionStartOf(project, profile));
      if (!started.ok) return setError(started.error);
      router.push(`/sessions/${started.data.id}`);
    });
  if (live)
    return (
      <div className="flex items-center gap-2" data-testid="live-session" data-state={live.state}>
        <span className={`text-sm ${(live.problems?.length ?? 0) > 0 ? "font-medium text-rose-700" : "text-slate-600"}`}>{sessionLabel(live)}</span>
        <SessionActions session={live} size={size} />
      </div>
    );
  return (
    <div className="flex flex-col items-end gap-2">
      <button type="button" className={buttonClasses(size).primary} onClick={connect} disabled={pending || helper.state !== "connected"}>
        {pending ? "Connecting…" : "Connect"}
      </button>
      {error && <ErrorNotice error={error} />}
    </div>
  );
}
