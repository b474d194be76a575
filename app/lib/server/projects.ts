import "server-only";
import fs from "node:fs";
import { fail, ok, type ProjectInput, type Result } from "../../../helper/protocol/index.ts";
import type { ProjectDto } from "../dto.ts";
import { db } from "./db.ts";
import { duplicateName, isUniqueViolation, notFound } from "./storeErrors.ts";

/** Projects: a named folder on the workstation whose services have profiles. */

type ProjectRow = { id: number; name: string; folderPath: string; updatedAt: Date; _count: { profiles: number } };

function toDto(row: ProjectRow): ProjectDto {
  return { id: row.id, name: row.name, folderPath: row.folderPath, profileCount: row._count.profiles, updatedAt: row.updatedAt.toISOString() };
}

const withCount = { _count: { select: { profiles: true } } } as const;

export async function listProjects(): Promise<ProjectDto[]> {
  const rows = await db().project.findMany({ include: withCount, orderBy: { name: "asc" } });
  return rows.map(toDto);
}

export async function getProject(id: number): Promise<ProjectDto | null> {
  const row = await db().project.findUnique({ where: { id }, include: withCount });
  return row ? toDto(row) : null;
}

/** The folder must exist on the workstation: the launch command runs there. */
function checkFolder(folderPath: string): Result<void> {
  const stat = fs.statSync(folderPath, { throwIfNoEntry: false });
  if (stat?.isDirectory()) return ok(undefined);
  const message = stat ? `${folderPath} is not a folder` : `Folder ${folderPath} does not exist`;
  return fail({ code: "folder-missing", category: "user", message, hint: "Pick an existing folder.", fields: { folderPath: message } });
}

export async function createProject(input: Required<ProjectInput>): Promise<Result<ProjectDto>> {
  const folder = checkFolder(input.folderPath);
  if (!folder.ok) return folder;
  try {
    const row = await db().project.create({ data: input, include: withCount });
    return ok(toDto(row));
  } catch (error) {
    if (isUniqueViolation(error)) return duplicateName("project", input.name);
    throw error;
  }
}

export async function updateProject(id: number, input: Required<ProjectInput>): Promise<Result<ProjectDto>> {
  const folder = checkFolder(input.folderPath);
  if (!folder.ok) return folder;
  try {
    const { count } = await db().project.updateMany({ where: { id }, data: input });
    if (count === 0) return notFound("Project", id);
    return ok((await getProject(id)) as ProjectDto);
  } catch (error) {
    if (isUniqueViolation(error)) return duplicateName("project", input.name);
    throw error;
  }
}

/** Deletes the project and its profiles and history. */
export async function deleteProject(id: number): Promise<Result<{ id: number }>> {
  const [, , deleted] = await db().$transaction([
    db().sessionRecord.deleteMany({ where: { profile: { projectId: id } } }),
    db().profile.deleteMany({ where: { projectId: id } }),
    db().project.deleteMany({ where: { id } }),
  ]);
  return deleted.count === 0 ? notFound("Project", id) : ok({ id });
}
