import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { PageHeader } from "../../../../../components/ui/PageHeader.tsx";
import { parseId } from "../../../../../lib/parseId.ts";
import { decodeDraft } from "../../../../../lib/profileFile.ts";
import { getProject } from "../../../../../lib/server/projects.ts";
import { ProfileForm } from "../ProfileForm.tsx";

export const metadata: Metadata = { title: "New profile" };

export default async function NewProfilePage({ params, searchParams }: { params: Promise<{ projectId: string }>; searchParams: Promise<{ draft?: string }> }) {
  const id = parseId((await params).projectId);
  // An imported file's draft (Import profile on the project page), to complete before saving.
  const draft = decodeDraft((await searchParams).draft);
  const project = id === null ? null : await getProject(id);
  if (!project) notFound();
  return (
    <>
      <PageHeader
        title="New profile"
        breadcrumb={<Link href={`/projects/${project.id}`} className="hover:underline">{project.name}</Link>}
        description={draft ? "Filled in from the imported file: complete what it could not say, then create the profile." : undefined}
      />
      <ProfileForm project={project} {...(draft ? { draft } : {})} />
    </>
  );
}
