import "server-only";
import os from "node:os";
import { z } from "zod";
import { fail, ok, podResourcesSchema, portMappingSchema, type ProfileSettings, type Result } from "../../../helper/protocol/index.ts";
import { outsideProject } from "../projectPaths.ts";
import { defaultRoutingKey } from "../../../helper/shared/routingKey.ts";
import type { ProfileDto } from "../dto.ts";
import { db } from "./db.ts";
import { duplicateName, isUniqueViolation, notFound } from "./storeErrors.ts";

/** Profiles: the saved settings for connecting one workload, unique by name within a project. */

type ProfileRow = Awaited<ReturnType<ReturnType<typeof db>["profile"]["findFirstOrThrow"]>>;

const storedPortMappings = z.array(portMappingSchema);
const storedEnv = z.record(z.string(), z.string());

function toDto(row: ProfileRow): ProfileDto {
  return {
    id: row.id,
    projectId: row.projectId,
    name: row.name,
    kubeContext: row.kubeContext,
    namespace: row.namespace,
    targetKind: row.targetKind as ProfileDto["targetKind"],
    targetName: row.targetName,
    container: row.container,
    portMappings: storedPortMappings.parse(JSON.parse(row.portMappings)),
    launchCommand: row.launchCommand,
    workingDirectory: row.workingDirectory,
    isolated: row.isolated,
    routingKey: row.routingKey,
    envOverrides: storedEnv.parse(JSON.parse(row.envOverrides)),
    configFilePath: row.configFilePath,
    privilegeMode: row.privilegeMode as ProfileDto["privilegeMode"],
    agentImage: row.agentImage,
    keepProbes: row.keepProbes,
    keepLifecycleHooks: row.keepLifecycleHooks,
    podResources: podResourcesSchema.parse(JSON.parse(row.podResources)),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** An isolated profile keeps one routing key (so its personal URL stays the same across connects): chosen at save when left empty. */
function toRow(settings: ProfileSettings) {
  const routingKey = settings.isolated ? settings.routingKey || defaultRoutingKey(os.userInfo().username) : "";
  return { ...settings, routingKey, portMappings: JSON.stringify(settings.portMappings), envOverrides: JSON.stringify(settings.envOverrides), podResources: JSON.stringify(settings.podResources) };
}

/** A project's profiles, or (without a project) every profile, as the Overview lists them. */
export async function listProfiles(projectId?: number): Promise<ProfileDto[]> {
  const rows = await db().profile.findMany({ where: projectId === undefined ? {} : { projectId }, orderBy: [{ projectId: "asc" }, { name: "asc" }] });
  return rows.map(toDto);
}

/** A profile by its id alone (a session knows its profile, not the project). */
export async function findProfile(id: number): Promise<ProfileDto | null> {
  const row = await db().profile.findUnique({ where: { id } });
  return row ? toDto(row) : null;
}

export async function getProfile(projectId: number, id: number): Promise<ProfileDto | null> {
  const row = await db().profile.findFirst({ where: { id, projectId } });
  return row ? toDto(row) : null;
}

/** The profile's folders stay in its project: a path that leads out is a field error. */
function outsideFolders(folderPath: string, settings: ProfileSettings): Result<never> | null {
  const fields: Record<string, string> = {};
  const workingDirectory = outsideProject(folderPath, settings.workingDirectory, "Working directory");
  const configFilePath = outsideProject(folderPath, settings.configFilePath, "Config file");
  if (workingDirectory) fields.workingDirectory = workingDirectory;
  if (configFilePath) fields.configFilePath = configFilePath;
  if (Object.keys(fields).length === 0) return null;
  return fail({ code: "invalid-input", category: "user", message: "The profile points outside its project.", hint: "Choose paths inside the project folder (or move the project).", fields });
}

export async function createProfile(projectId: number, settings: ProfileSettings): Promise<Result<ProfileDto>> {
  const project = await db().project.findUnique({ where: { id: projectId }, select: { id: true, folderPath: true } });
  if (!project) return notFound("Project", projectId);
  const outside = outsideFolders(project.folderPath, settings);
  if (outside) return outside;
  try {
    return ok(toDto(await db().profile.create({ data: { ...toRow(settings), projectId } })));
  } catch (error) {
    if (isUniqueViolation(error)) return duplicateName("profile", settings.name, "in this project");
    throw error;
  }
}

export async function updateProfile(projectId: number, id: number, settings: ProfileSettings): Promise<Result<ProfileDto>> {
  const project = await db().project.findUnique({ where: { id: projectId }, select: { folderPath: true } });
  if (!project) return notFound("Project", projectId);
  const outside = outsideFolders(project.folderPath, settings);
  if (outside) return outside;
  try {
    const { count } = await db().profile.updateMany({ where: { id, projectId }, data: toRow(settings) });
    if (count === 0) return notFound("Profile", id);
    return ok((await getProfile(projectId, id)) as ProfileDto);
  } catch (error) {
    if (isUniqueViolation(error)) return duplicateName("profile", settings.name, "in this project");
    throw error;
  }
}

export async function deleteProfile(projectId: number, id: number): Promise<Result<{ id: number }>> {
  const [, deleted] = await db().$transaction([
    db().sessionRecord.deleteMany({ where: { profile: { id, projectId } } }),
    db().profile.deleteMany({ where: { id, projectId } }),
  ]);
  return deleted.count === 0 ? notFound("Profile", id) : ok({ id });
}
