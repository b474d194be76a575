"use server";

/**
 * Mutations of projects and profiles. Each action parses its untrusted input with the
 * shared zod schema, calls one data function, and returns a Result (never throws).
 */
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { fail, invalidInput, profileInputSchema, projectInputSchema, type Result } from "../../../helper/protocol/index.ts";
import type { ProfileDto, ProjectDto } from "../../lib/dto.ts";
import { createProfile, deleteProfile, updateProfile } from "../../lib/server/profiles.ts";
import { createProject, deleteProject, updateProject } from "../../lib/server/projects.ts";

const idSchema = z.coerce.number().int().positive();

function badId<T>(what: string): Result<T> {
  return fail({ code: "invalid-id", category: "user", message: `That ${what} id is not valid.`, hint: "Go back to the project list." });
}

export async function createProjectAction(unsafeInput: unknown): Promise<Result<ProjectDto>> {
  const input = projectInputSchema.safeParse(unsafeInput);
  if (!input.success) return fail(invalidInput(input.error, "project"));
  const result = await createProject(input.data);
  if (result.ok) revalidatePath("/projects");
  return result;
}

export async function updateProjectAction(unsafeId: unknown, unsafeInput: unknown): Promise<Result<ProjectDto>> {
  const id = idSchema.safeParse(unsafeId);
  if (!id.success) return badId("project");
  const input = projectInputSchema.safeParse(unsafeInput);
  if (!input.success) return fail(invalidInput(input.error, "project"));
  const result = await updateProject(id.data, input.data);
  if (result.ok) revalidatePath("/projects", "layout");
  return result;
}

export async function deleteProjectAction(unsafeId: unknown): Promise<Result<{ id: number }>> {
  const id = idSchema.safeParse(unsafeId);
  if (!id.success) return badId("project");
  const result = await deleteProject(id.data);
  if (result.ok) revalidatePath("/projects", "layout");
  return result;
}

export async function saveProfileAction(unsafeProjectId: unknown, unsafeProfileId: unknown, unsafeInput: unknown): Promise<Result<ProfileDto>> {
  const projectId = idSchema.safeParse(unsafeProjectId);
  if (!projectId.success) return badId("project");
  const input = profileInputSchema.safeParse(unsafeInput);
  if (!input.success) return fail(invalidInput(input.error, "profile"));
  let result: Result<ProfileDto>;
  if (unsafeProfileId === null) {
    result = await createProfile(projectId.data, input.data);
  } else {
    const profileId = idSchema.safeParse(unsafeProfileId);
    if (!profileId.success) return badId("profile");
    result = await updateProfile(projectId.data, profileId.data, input.data);
  }
  if (result.ok) revalidatePath(`/projects/${projectId.data}`, "layout");
  return result;
}

export async function deleteProfileAction(unsafeProjectId: unknown, unsafeProfileId: unknown): Promise<Result<{ id: number }>> {
  const projectId = idSchema.safeParse(unsafeProjectId);
  const profileId = idSchema.safeParse(unsafeProfileId);
  if (!projectId.success || !profileId.success) return badId("profile");
  const result = await deleteProfile(projectId.data, profileId.data);
  if (result.ok) revalidatePath(`/projects/${projectId.data}`, "layout");
  return result;
}
