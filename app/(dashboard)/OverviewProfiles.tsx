import Link from "next/link";
import { ProfileSessionCell } from "../components/ProfileSessionCell.tsx";
import { Card } from "../components/ui/Card.tsx";
import type { ProfileDto, ProjectDto } from "../lib/dto.ts";

/** Every profile of every project, each with Connect or its live session's Open and Disconnect. */
export function OverviewProfiles({ projects, profiles }: { projects: ProjectDto[]; profiles: ProfileDto[] }) {
  const projectOf = new Map(projects.map((project) => [project.id, project]));
  return (
    <Card title="Profiles" labelledBy="overview-profiles-title">
      {profiles.length === 0 ? (
        <p className="text-sm text-slate-600">
          No profiles yet. <Link href="/projects" className="font-medium text-sky-700 hover:underline">Open a project</Link> and add one: the workload to connect, its ports, and the command that runs your service.
        </p>
      ) : (
        <table aria-label="All profiles" className="w-full text-left text-sm">
          <thead className="text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th className="py-2 pr-4 font-medium">Profile</th>
              <th className="py-2 pr-4 font-medium">Project</th>
              <th className="py-2 pr-4 font-medium">Target</th>
              <th className="py-2 text-right font-medium">Session</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {profiles.map((profile) => {
              const project = projectOf.get(profile.projectId);
              if (!project) return null;
              return (
                <tr key={profile.id}>
                  <td className="py-2 pr-4">
                    <Link href={`/projects/${project.id}/profiles/${profile.id}`} className="font-medium text-sky-700 hover:underline">
                      {profile.name}
                    </Link>
                  </td>
                  <td className="py-2 pr-4 text-slate-600">{project.name}</td>
                  <td className="py-2 pr-4 text-slate-700">
                    {profile.targetKind}/{profile.targetName} <span className="text-slate-500">in {profile.kubeContext} / {profile.namespace}</span>
                  </td>
                  <td className="py-2">
                    <ProfileSessionCell project={project} profile={profile} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Card>
  );
}
