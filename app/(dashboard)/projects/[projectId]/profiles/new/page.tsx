import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { PageHeader } from "../../../../../components/ui/PageHeader.tsx";
import { parseId } from "../../../../../lib/parseId.ts";
import { getProject } from "../../../../../lib/server/projects.ts";
import { ProfileForm } from "../ProfileForm.tsx";

export const metadata: Metadata = { title: "New profile" };

export default async function NewProfilePage({ params }: { params: Promise<{ projectId: string }> }) {
  const id = parseId((await params).projectId);
  const project = id === null ? null : await getProject(id);
  if (!project) notFound();
  return (
    <>
      <PageHeader title="New profile" breadcrumb={<Link href={`/projects/${project.id}`} className="hover:underline">{project.name}</Link>} />
      <ProfileForm project={project} />
    </>
  );
}
