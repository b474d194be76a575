import type { Metadata } from "next";
import Link from "next/link";
import { Card } from "../../components/ui/Card.tsx";
import { PageHeader } from "../../components/ui/PageHeader.tsx";
import { listProjects } from "../../lib/server/projects.ts";
import { ProjectForm } from "./ProjectForm.tsx";

export const metadata: Metadata = { title: "Projects" };

export default async function ProjectsPage() {
  const projects = await listProjects();
  return (
    <>
      <PageHeader title="Projects & profiles" description="A project is a folder on this workstation; each of its profiles says how to connect one workload of the cluster." />
      <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_22rem]">
        <Card title="Projects" labelledBy="projects-title">
          {projects.length === 0 ? (
            <p className="text-sm text-slate-600">No projects yet. Create one with the form: name it, and give the folder your service&apos;s code lives in.</p>
          ) : (
            <ul aria-label="Projects" className="divide-y divide-slate-100">
              {projects.map((project) => (
                <li key={project.id} className="flex items-center justify-between gap-4 py-3">
                  <div className="min-w-0">
                    <Link href={`/projects/${project.id}`} className="font-medium text-sky-700 hover:underline">
                      {project.name}
                    </Link>
                    <p className="truncate font-mono text-xs text-slate-500">{project.folderPath}</p>
                  </div>
                  <span className="shrink-0 text-xs text-slate-500">
                    {project.profileCount} {project.profileCount === 1 ? "profile" : "profiles"}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </Card>
        <Card title="New project" labelledBy="new-project-title">
          <ProjectForm />
        </Card>
      </div>
    </>
  );
}
