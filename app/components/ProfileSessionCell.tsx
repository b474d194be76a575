"use client";

import Link from "next/link";
import type { ProfileDto } from "../lib/dto.ts";
import { useLiveSession } from "../lib/client/useLiveSession.tsx";

/** A profile's live session in a list of profiles: its state and a link to it, or nothing. */
export function ProfileSessionCell({ profile }: { profile: ProfileDto }) {
  const live = useLiveSession(profile);
  if (!live) return <span className="text-slate-400">—</span>;
  const troubled = (live.problems?.length ?? 0) > 0;
  return (
    <Link href={`/sessions/${live.id}`} data-testid={`profile-session-${profile.id}`} data-state={live.state} className={`font-medium hover:underline ${troubled ? "text-rose-700" : "text-emerald-700"}`}>
      {troubled ? "problem" : live.state} · open
    </Link>
  );
}
