"use client";

import type { ProfileDto, ProjectDto } from "../lib/dto.ts";
import { useLiveSession } from "../lib/client/useLiveSession.tsx";
import { ConnectButton } from "./ConnectButton.tsx";

/** A profile's session in a list of profiles: Connect, or its live session's state with Open and Disconnect. */
export function ProfileSessionCell({ project, profile }: { project: ProjectDto; profile: ProfileDto }) {
  const live = useLiveSession(profile);
  return (
    <div data-testid={`profile-session-${profile.id}`} data-state={live?.state ?? "none"} className="flex justify-end">
      <ConnectButton project={project} profile={profile} size="small" />
    </div>
  );
}
