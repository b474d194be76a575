import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { PageHeader } from "../../../../../components/ui/PageHeader.tsx";
import { parseId } from "../../../../../lib/parseId.ts";
import { getProfile } from "../../../../../lib/server/profiles.ts";
import { getProject } from "../../../../../lib/server/projects.ts";
import { ProfileForm } from "../ProfileForm.tsx";

export const metadata: Metadata = { title: "Profile" };

export default async function ProfilePage({ params }: { params: Promise<{ projectId: string; profileId: string }> }) {
  const segments = await params;
  const projectId = parseId(segments.projectId);
  const profileId = parseId(segments.profileId);
  const project = projectId === null ? null : await getProject(projectId);
  const profile = project && profileId !== null ? await getProfile(project.id, profileId) : null;
  if (!project || !profile) notFound();
  return (
    <>
      <PageHeader title={profile.name} breadcrumb={<Link href={`/projects/${project.id}`} className="hover:underline">{project.name}</Link>} description={`${profile.targetKind}/${profile.targetName} in ${profile.kubeContext} / ${profile.namespace}`} />
      <ProfileForm key={profile.updatedAt} project={project} profile={profile} />
    </>
  );
}
