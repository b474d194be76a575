"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition, type FormEvent } from "react";
import { fieldErrors, projectInputSchema, type ErrorInfo } from "../../../helper/protocol/index.ts";
import { ErrorNotice } from "../../components/ui/ErrorNotice.tsx";
import { TextField } from "../../components/ui/Field.tsx";
import { buttonClass } from "../../components/ui/buttons.ts";
import type { ProjectDto } from "../../lib/dto.ts";
import { createProjectAction, updateProjectAction } from "./actions.ts";

/** Creates a project, or edits one when `project` is given. */
export function ProjectForm({ project, onDone }: { project?: ProjectDto; onDone?: () => void }) {
  const router = useRouter();
  const [name, setName] = useState(project?.name ?? "");
  const [folderPath, setFolderPath] = useState(project?.folderPath ?? "");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [pending, startTransition] = useTransition();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const input = { name, folderPath };
    const checked = projectInputSchema.safeParse(input);
    if (!checked.success) {
      setFields(fieldErrors(checked.error));
      setError(null);
      return;
    }
    startTransition(async () => {
      const result = project ? await updateProjectAction(project.id, input) : await createProjectAction(input);
      if (!result.ok) {
        setFields(result.error.fields ?? {});
        setError(result.error.fields ? null : result.error);
        return;
      }
      setFields({});
      setError(null);
      if (project) {
        onDone?.();
        router.refresh();
      } else {
        router.push(`/projects/${result.data.id}`);
      }
    });
  };

  return (
    <form onSubmit={submit} noValidate aria-label={project ? "Edit project" : "New project"} className="flex flex-col gap-4">
      {error && <ErrorNotice error={error} />}
      <TextField label="Project name" value={name} onChange={(e) => setName(e.target.value)} error={fields.name} placeholder="shop" />
      <TextField
        label="Folder"
        value={folderPath}
        onChange={(e) => setFolderPath(e.target.value)}
        error={fields.folderPath}
        placeholder="/home/you/src/shop"
        hint="Absolute path of the folder your service's code lives in."
      />
      <div className="flex gap-2">
        <button type="submit" className={buttonClass.primary} disabled={pending}>
          {pending ? "Saving…" : project ? "Save project" : "Create project"}
        </button>
        {project && (
          <button type="button" className={buttonClass.secondary} onClick={onDone}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
