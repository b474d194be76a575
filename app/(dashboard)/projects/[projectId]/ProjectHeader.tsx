"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ErrorInfo } from "../../../../helper/protocol/index.ts";
import { Card } from "../../../components/ui/Card.tsx";
import { ErrorNotice } from "../../../components/ui/ErrorNotice.tsx";
import { PageHeader } from "../../../components/ui/PageHeader.tsx";
import { buttonClass } from "../../../components/ui/buttons.ts";
import type { ProjectDto } from "../../../lib/dto.ts";
import { deleteProjectAction } from "../actions.ts";
import { ProjectForm } from "../ProjectForm.tsx";

export function ProjectHeader({ project }: { project: ProjectDto }) {
  const router = useRouter();
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [pending, startTransition] = useTransition();

  const remove = () => {
    const what = project.profileCount > 0 ? ` and its ${project.profileCount} profile(s)` : "";
    if (!window.confirm(`Delete project "${project.name}"${what}? The folder on disk is not touched.`)) return;
    startTransition(async () => {
      const result = await deleteProjectAction(project.id);
      if (result.ok) router.push("/projects");
      else setError(result.error);
    });
  };

  return (
    <div className="mb-6">
      <PageHeader
        title={project.name}
        breadcrumb={<Link href="/projects" className="hover:underline">Projects</Link>}
        description={<span className="font-mono text-xs">{project.folderPath}</span>}
        actions={
          !editing && (
            <>
              <button type="button" className={buttonClass.secondary} onClick={() => setEditing(true)}>
                Edit project
              </button>
              <button type="button" className={buttonClass.danger} onClick={remove} disabled={pending}>
                Delete project
              </button>
            </>
          )
        }
      />
      {error && <ErrorNotice error={error} />}
      {editing && (
        <Card title="Edit project" labelledBy="edit-project-title">
          <ProjectForm project={project} onDone={() => setEditing(false)} />
        </Card>
      )}
    </div>
  );
}
