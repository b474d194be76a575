import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { ConnectButton } from "../../../../../components/ConnectButton.tsx";
import { PageHeader } from "../../../../../components/ui/PageHeader.tsx";
import { parseId } from "../../../../../lib/parseId.ts";
import { getProfile } from "../../../../../lib/server/profiles.ts";
import { getProject } from "../../../../../lib/server/projects.ts";
import { listSessionRecords } from "../../../../../lib/server/sessionRecords.ts";
import { ProfileForm } from "../ProfileForm.tsx";
import { ExportButton } from "./ExportButton.tsx";
import { SessionHistory } from "./SessionHistory.tsx";

export const metadata: Metadata = { title: "Profile" };

export default async function ProfilePage({ params }: { params: Promise<{ projectId: string; profileId: string }> }) {
  const segments = await params;
  const projectId = parseId(segments.projectId);
  const profileId = parseId(segments.profileId);
  const project = projectId === null ? null : await getProject(projectId);
  const profile = project && profileId !== null ? await getProfile(project.id, profileId) : null;
  if (!project || !profile) notFound();
  const history = await listSessionRecords(profile.id);
  return (
    <>
      <PageHeader
        title={profile.name}
        breadcrumb={<Link href={`/projects/${project.id}`} className="hover:underline">{project.name}</Link>}
        description={`${profile.targetKind}/${profile.targetName} in ${profile.kubeContext} / ${profile.namespace}`}
        actions={
          <>
            <ExportButton profile={profile} />
            <ConnectButton project={project} profile={profile} />
          </>
        }
      />
      <div className="flex flex-col gap-6">
        <ProfileForm key={profile.updatedAt} project={project} profile={profile} />
        <div className="max-w-3xl">
          <SessionHistory records={history} />
        </div>
      </div>
    </>
  );
}
