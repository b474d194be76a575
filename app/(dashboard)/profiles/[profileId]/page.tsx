import { notFound, redirect } from "next/navigation";
import { parseId } from "../../../lib/parseId.ts";
import { findProfile } from "../../../lib/server/profiles.ts";

/** A profile by id alone (a session's page links here): its page in its project. */
export default async function ProfileById({ params }: { params: Promise<{ profileId: string }> }) {
  const id = parseId((await params).profileId);
  const profile = id === null ? null : await findProfile(id);
  if (!profile) notFound();
  redirect(`/projects/${profile.projectId}/profiles/${profile.id}`);
}
