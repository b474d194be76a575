import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { Card } from "../../../components/ui/Card.tsx";
import { buttonClass } from "../../../components/ui/buttons.ts";
import { listProfiles } from "../../../lib/server/profiles.ts";
import { getProject } from "../../../lib/server/projects.ts";
import { parseId } from "../../../lib/parseId.ts";
import { ProfileSessionCell } from "../../../components/ProfileSessionCell.tsx";
import { ImportProfile } from "./ImportProfile.tsx";
import { ProjectHeader } from "./ProjectHeader.tsx";

type Params = { params: Promise<{ projectId: string }> };

export async function generateMetadata({ params }: Params): Promise<Metadata> {
  const id = parseId((await params).projectId);
  const project = id === null ? null : await getProject(id);
  return { title: project?.name ?? "Project" };
}

export default async function ProjectPage({ params }: Params) {
  const id = parseId((await params).projectId);
  const project = id === null ? null : await getProject(id);
  if (!project) notFound();
  const profiles = await listProfiles(project.id);
  return (
    <>
      <ProjectHeader project={project} />
      <Card
        title="Profiles"
        labelledBy="profiles-title"
        actions={
          <Link href={`/projects/${project.id}/profiles/new`} className={buttonClass.primary}>
            New profile
          </Link>
        }
      >
        {profiles.length === 0 ? (
          <p className="text-sm text-slate-600">No profiles yet. A profile names the workload to connect, which workstation port serves each of its ports, and the command that runs your service.</p>
        ) : (
          <table aria-label="Profiles" className="w-full text-left text-sm">
            <thead className="text-xs uppercase tracking-wide text-slate-500">
              <tr>
                <th className="py-2 pr-4 font-medium">Profile</th>
                <th className="py-2 pr-4 font-medium">Target</th>
                <th className="py-2 pr-4 font-medium">Context / namespace</th>
                <th className="py-2 pr-4 font-medium">Ports</th>
                <th className="py-2 pr-4 font-medium">Mode</th>
                <th className="py-2 text-right font-medium">Session</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {profiles.map((profile) => (
                <tr key={profile.id}>
                  <td className="py-2 pr-4">
                    <Link href={`/projects/${project.id}/profiles/${profile.id}`} className="font-medium text-sky-700 hover:underline">
                      {profile.name}
                    </Link>
                  </td>
                  <td className="py-2 pr-4 text-slate-700">
                    {profile.targetKind}/{profile.targetName}
                  </td>
                  <td className="py-2 pr-4 text-slate-600">
                    {profile.kubeContext} / {profile.namespace}
                  </td>
                  <td className="py-2 pr-4 font-mono text-xs text-slate-600">{profile.portMappings.map((m) => `${m.servicePort}→${m.workstationPort}`).join(", ")}</td>
                  <td className="py-2 pr-4 text-slate-600">{profile.isolated ? "isolated" : "shared"}</td>
                  <td className="py-2">
                    <ProfileSessionCell project={project} profile={profile} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <div className="mt-6">
        <ImportProfile projectId={project.id} />
      </div>
    </>
  );
}
