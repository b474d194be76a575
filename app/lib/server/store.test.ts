import path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { tempDir } from "../../../test/support/tempDir.ts";
import { kbridgeHome } from "../../../helper/shared/kbridgeHome.ts";
import { profileInputSchema } from "../../../helper/protocol/index.ts";
import { migrateDatabase } from "./migrate.ts";
import { createProfile, deleteProfile, getProfile, listProfiles, updateProfile } from "./profiles.ts";
import { createProject, deleteProject, getProject, listProjects, updateProject } from "./projects.ts";
import { db } from "./db.ts";

const home = tempDir("store");
const folder = tempDir("project-folder");

beforeAll(() => {
  process.env.KBRIDGE_HOME = home;
  migrateDatabase(kbridgeHome().database, path.resolve(import.meta.dirname, "../../../prisma/migrations"));
});

const settings = (name: string) =>
  profileInputSchema.parse({
    name,
    kubeContext: "dev",
    namespace: "shop",
    targetKind: "service",
    targetName: "orders",
    portMappings: [{ servicePort: 80, workstationPort: 3000 }, { servicePort: 9090, workstationPort: 9091 }],
    envOverrides: { LOG_LEVEL: "debug", QUOTED: `a "b" 'c'\nline two` },
    isolated: true,
    routingKey: "alice-3f2a",
  });

async function newProjectId(name: string): Promise<number> {
  const created = await createProject({ name, folderPath: folder });
  if (!created.ok) throw new Error(created.error.message);
  return created.data.id;
}

describe("projects", () => {
  test("create, list, rename, and refuse duplicates and missing folders with field errors", async () => {
    const id = await newProjectId("shop");
    expect((await listProjects()).map((p) => p.name)).toContain("shop");

    const duplicate = await createProject({ name: "shop", folderPath: folder });
    expect(duplicate).toMatchObject({ ok: false, error: { code: "duplicate-name", fields: { name: 'A project named "shop" already exists' } } });

    const missing = await createProject({ name: "ghost", folderPath: path.join(folder, "does-not-exist") });
    expect(missing).toMatchObject({ ok: false, error: { code: "folder-missing" } });
    if (!missing.ok) expect(missing.error.fields?.folderPath).toMatch(/does not exist/);

    expect(await updateProject(id, { name: "shop-renamed", folderPath: folder })).toMatchObject({ ok: true, data: { name: "shop-renamed" } });
    expect(await updateProject(999_999, { name: "x", folderPath: folder })).toMatchObject({ ok: false, error: { code: "not-found" } });
  });

  test("deleting a project deletes its profiles and their history", async () => {
    const id = await newProjectId("to-delete");
    const profile = await createProfile(id, settings("api"));
    if (!profile.ok) throw new Error(profile.error.message);
    await db().sessionRecord.create({ data: { profileId: profile.data.id, sessionId: "s1", startedAt: new Date(), outcome: "disconnected" } });
    expect(await deleteProject(id)).toEqual({ ok: true, data: { id } });
    expect(await getProject(id)).toBeNull();
    expect(await db().profile.count({ where: { projectId: id } })).toBe(0);
    expect(await db().sessionRecord.count({ where: { profileId: profile.data.id } })).toBe(0);
    expect(await deleteProject(id)).toMatchObject({ ok: false, error: { code: "not-found" } });
  });
});

describe("profiles", () => {
  test("round-trip every field, including port mappings and env values with quotes and newlines", async () => {
    const projectId = await newProjectId("roundtrip");
    const created = await createProfile(projectId, settings("api"));
    expect(created.ok).toBe(true);
    if (!created.ok) return;
    const loaded = await getProfile(projectId, created.data.id);
    expect(loaded).toMatchObject({ ...settings("api"), projectId });
    expect(await listProfiles(projectId)).toHaveLength(1);
  });

  test("a profile's working directory and config file stay inside its project: ../ or another absolute path is a field error", async () => {
    const projectId = await newProjectId("contained");
    const inside = await createProfile(projectId, { ...settings("inside"), workingDirectory: `${folder}/services/api`, configFilePath: "config/KubernetesLocalProcessConfig.yaml" });
    expect(inside.ok).toBe(true);
    const outside = await createProfile(projectId, { ...settings("outside"), workingDirectory: "/etc", configFilePath: "../../KubernetesLocalProcessConfig.yaml" });
    expect(outside).toMatchObject({
      ok: false,
      error: {
        code: "invalid-input",
        fields: {
          workingDirectory: `Working directory must be inside the project folder (${folder}); /etc is /etc`,
          configFilePath: expect.stringMatching(new RegExp(`^Config file must be inside the project folder \\(${folder}\\); \\.\\./\\.\\./KubernetesLocalProcessConfig\\.yaml is /`)),
        },
      },
    });
    if (!inside.ok) return;
    expect(await updateProfile(projectId, inside.data.id, { ...settings("inside"), workingDirectory: `${folder}/../elsewhere` })).toMatchObject({ ok: false, error: { fields: { workingDirectory: expect.stringContaining("must be inside the project folder") } } });
  });

  test("names are unique within a project, not across projects", async () => {
    const first = await newProjectId("unique-a");
    const second = await newProjectId("unique-b");
    expect((await createProfile(first, settings("api"))).ok).toBe(true);
    expect(await createProfile(first, settings("api"))).toMatchObject({
      ok: false,
      error: { code: "duplicate-name", fields: { name: 'A profile named "api" already exists in this project' } },
    });
    expect((await createProfile(second, settings("api"))).ok).toBe(true);

    const other = await createProfile(first, settings("worker"));
    if (!other.ok) throw new Error(other.error.message);
    expect(await updateProfile(first, other.data.id, settings("api"))).toMatchObject({ ok: false, error: { code: "duplicate-name" } });
    expect(await updateProfile(first, other.data.id, { ...settings("worker"), namespace: "payments" })).toMatchObject({ ok: true, data: { namespace: "payments" } });
  });

  test("a profile is only reachable through its own project", async () => {
    const owner = await newProjectId("owner");
    const stranger = await newProjectId("stranger");
    const profile = await createProfile(owner, settings("api"));
    if (!profile.ok) throw new Error(profile.error.message);
    expect(await getProfile(stranger, profile.data.id)).toBeNull();
    expect(await updateProfile(stranger, profile.data.id, settings("x"))).toMatchObject({ ok: false, error: { code: "not-found" } });
    expect(await deleteProfile(stranger, profile.data.id)).toMatchObject({ ok: false, error: { code: "not-found" } });
    expect(await deleteProfile(owner, profile.data.id)).toEqual({ ok: true, data: { id: profile.data.id } });
    expect(await createProfile(999_999, settings("api"))).toMatchObject({ ok: false, error: { code: "not-found" } });
  });

  test("an isolated profile saved without a routing key gets one, kept across saves; a shared profile keeps none", async () => {
    const projectId = await newProjectId("isolation-keys");
    const created = await createProfile(projectId, { ...settings("web"), routingKey: "" });
    if (!created.ok) throw new Error(created.error.message);
    expect(created.data.routingKey).toMatch(/^[a-z0-9]{1,8}-[0-9a-f]{4}$/);
    const saved = await updateProfile(projectId, created.data.id, { ...settings("web"), routingKey: created.data.routingKey, namespace: "other" });
    expect(saved).toMatchObject({ ok: true, data: { routingKey: created.data.routingKey, namespace: "other" } });
    expect(await updateProfile(projectId, created.data.id, { ...settings("web"), isolated: false })).toMatchObject({ ok: true, data: { isolated: false, routingKey: "" } });
  });
});
