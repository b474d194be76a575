"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition, type FormEvent } from "react";
import { fieldErrors, profileInputSchema, type ErrorInfo } from "../../../../../helper/protocol/index.ts";
import { ErrorNotice } from "../../../../components/ui/ErrorNotice.tsx";
import { buttonClass } from "../../../../components/ui/buttons.ts";
import type { ProfileDto, ProjectDto } from "../../../../lib/dto.ts";
import type { ProfileDraftValues } from "../../../../lib/profileFile.ts";
import { deleteProfileAction, saveProfileAction } from "../../actions.ts";
import { ClusterCheckCard } from "./ClusterCheckCard.tsx";
import { AgentSection, ModeSection, PortsSection, ProcessSection, TargetSection } from "./ProfileFormSections.tsx";
import { initialValues, profileInput, valueAt, type ProfileFormValues, type SetField } from "./profileFormState.ts";

/** Creates or edits a profile, validating inline with the same schema the server uses. */
export function ProfileForm({ project, profile, draft = {} }: { project: ProjectDto; profile?: ProfileDto; draft?: ProfileDraftValues }) {
  const router = useRouter();
  const [values, setValues] = useState<ProfileFormValues>(() => initialValues(profile, draft));
  const set: SetField = (key, value) => setValues((current) => ({ ...current, [key]: value }));
  // The fields the last save found wrong, and the values it was given: a field's error shows until its value changes.
  const [rejected, setRejected] = useState<{ fields: Record<string, string>; input: unknown; envText: string }>({ fields: {}, input: null, envText: "" });
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [pending, startTransition] = useTransition();

  const { input, envErrors } = profileInput(values);
  const fields = Object.fromEntries(Object.entries(rejected.fields).filter(([key]) => (key === "envOverrides" ? values.envText === rejected.envText : valueAt(input, key) === valueAt(rejected.input, key))));
  const reject = (found: Record<string, string>, why: ErrorInfo) => {
    setRejected({ fields: found, input, envText: values.envText });
    setError(why);
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const checked = profileInputSchema.safeParse(input);
    const found = { ...(checked.success ? {} : fieldErrors(checked.error)), ...(envErrors[0] ? { envOverrides: envErrors[0] } : {}) };
    if (Object.keys(found).length > 0) return reject(found, { code: "invalid-input", category: "user", message: "Some fields need attention.", hint: "Fix the fields marked in red, then save again." });
    startTransition(async () => {
      const result = await saveProfileAction(project.id, profile?.id ?? null, input);
      if (!result.ok) return reject(result.error.fields ?? {}, result.error);
      // A new profile opens, with its Connect button; an edited one goes back to its project's list.
      router.push(profile ? `/projects/${project.id}` : `/projects/${project.id}/profiles/${result.data.id}`);
      router.refresh();
    });
  };

  const remove = () => {
    if (!profile || !window.confirm(`Delete profile "${profile.name}" and its session history?`)) return;
    startTransition(async () => {
      const result = await deleteProfileAction(project.id, profile.id);
      if (!result.ok) return setError(result.error);
      router.push(`/projects/${project.id}`);
      router.refresh();
    });
  };

  const sections = { values, set, fields };
  return (
    <form onSubmit={submit} noValidate aria-label={profile ? "Edit profile" : "New profile"} className="flex max-w-3xl flex-col gap-6">
      {error && <ErrorNotice error={error} />}
      <TargetSection {...sections} update={setValues} isNew={!profile} />
      <PortsSection values={values} fields={fields} update={setValues} />
      <ProcessSection {...sections} project={project} />
      <ModeSection {...sections} />
      <AgentSection {...sections} />
      <ClusterCheckCard values={values} />
      <div className="flex items-center gap-2">
        <button type="submit" className={buttonClass.primary} disabled={pending}>
          {pending ? "Saving…" : profile ? "Save profile" : "Create profile"}
        </button>
        <button type="button" className={buttonClass.secondary} onClick={() => router.push(`/projects/${project.id}`)}>
          Cancel
        </button>
        {profile && (
          <button type="button" className={`${buttonClass.danger} ml-auto`} onClick={remove} disabled={pending}>
            Delete profile
          </button>
        )}
      </div>
    </form>
  );
}
