"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ErrorInfo, SessionStart } from "../../../../../../helper/protocol/index.ts";
import { ErrorNotice } from "../../../../../components/ui/ErrorNotice.tsx";
import { buttonClass } from "../../../../../components/ui/buttons.ts";
import { useHelper } from "../../../../../lib/client/HelperContext.tsx";
import { useLiveSession } from "../../../../../lib/client/useLiveSession.tsx";
import type { ProfileDto, ProjectDto } from "../../../../../lib/dto.ts";
import { inProjectFolder } from "../../../../../lib/projectPaths.ts";

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

/**
 * Starts a session for the profile and opens its page — unless the profile is connected
 * already (from here, the CLI, or before a helper restart): then its session is offered, to
 * open or to disconnect, never a second Connect.
 */
export function ConnectButton({ project, profile }: { project: ProjectDto; profile: ProfileDto }) {
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
  const disconnect = (sessionId: string) =>
    startTransition(async () => {
      setError(null);
      const stopped = await helper.send("session:stop", { sessionId });
      if (!stopped.ok) setError(stopped.error);
    });
  return (
    <div className="flex flex-col items-end gap-2">
      {live ? (
        <div className="flex items-center gap-2" data-testid="live-session" data-state={live.state}>
          <span className="text-sm text-slate-600">{live.state === "interrupted" ? "Interrupted session" : live.state === "restoring" ? "Disconnecting…" : `Session ${live.state}`}</span>
          <Link href={`/sessions/${live.id}`} className={buttonClass.primary}>
            Open session
          </Link>
          <button type="button" className={buttonClass.danger} onClick={() => disconnect(live.id)} disabled={pending || live.state === "restoring" || helper.state !== "connected"}>
            {pending || live.state === "restoring" ? "Disconnecting…" : live.state === "interrupted" ? "Clean up" : "Disconnect"}
          </button>
        </div>
      ) : (
        <button type="button" className={buttonClass.primary} onClick={connect} disabled={pending || helper.state !== "connected"}>
          {pending ? "Connecting…" : "Connect"}
        </button>
      )}
      {error && <ErrorNotice error={error} />}
    </div>
  );
}
