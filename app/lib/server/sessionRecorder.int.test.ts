/**
 * The dashboard server's recorder writes a profile's session history as the helper reports
 * endings: a disconnect, a failed connect, and sessions that ended while the dashboard was
 * not running (recorded when it connects).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { kbridgeHome, readToken } from "../../../helper/shared/kbridgeHome.ts";
import { profileInputSchema, type SessionStart, sessionStartSchema } from "../../../helper/protocol/index.ts";
import { runHelper, type RunningHelper } from "../../../helper/server/runHelper.ts";
import { startTestCluster, type TestCluster } from "../../../test/cluster/cluster.ts";
import { demoImages, installDemo, waitForDemo } from "../../../test/cluster/demo/demoApp.ts";
import { freePort } from "../../../test/support/ports.ts";
import { tempDir } from "../../../test/support/tempDir.ts";
import { until } from "../../../test/support/until.ts";
import { migrateDatabase } from "./migrate.ts";
import { createProfile } from "./profiles.ts";
import { createProject } from "./projects.ts";
import { startSessionRecorder, type SessionRecorder } from "./sessionRecorder.ts";
import { listSessionRecords } from "./sessionRecords.ts";

const dir = tempDir("recorder");
let cluster: TestCluster;
let helper: RunningHelper;
let workstation: http.Server;
let profileId: number;
const recorders: SessionRecorder[] = [];

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages], backoffBaseMs: 500 });
  installDemo(cluster);
  await waitForDemo(cluster);
  const env = { KBRIDGE_HOME: path.join(dir, "home"), KUBECONFIG: cluster.writeKubeconfig(path.join(dir, "kubeconfig")), KBRIDGE_HELPER_PORT: String(await freePort()), KBRIDGE_HOSTS_FILE: String(process.env.KBRIDGE_HOSTS_FILE) };
  Object.assign(process.env, env);
  migrateDatabase(kbridgeHome().database, path.resolve(import.meta.dirname, "../../../prisma/migrations"));
  helper = await runHelper(env);
  const project = await createProject({ name: "shop", folderPath: dir });
  if (!project.ok) throw new Error(project.error.message);
  const profile = await createProfile(project.data.id, profileInputSchema.parse({ name: "api", kubeContext: "kbridge-demo", namespace: "shop", targetKind: "service", targetName: "api", portMappings: [{ servicePort: 80, workstationPort: 3000 }] }));
  if (!profile.ok) throw new Error(profile.error.message);
  profileId = profile.data.id;
  workstation = http.createServer((_req, res) => res.end(JSON.stringify({ pod: "workstation", items: [], store: "none" })));
  await new Promise<void>((resolve) => workstation.listen(0, "127.0.0.1", resolve));
}, 60_000);
afterAll(async () => {
  for (const recorder of recorders) await recorder.close();
  workstation?.close();
  await helper?.sessions.stopAll();
  await helper?.close();
  await cluster?.stop();
});

const recorder = () => {
  const started = startSessionRecorder({ url: helper.url, token: readToken(kbridgeHome()) ?? "" }, (error) => {
    throw error;
  });
  recorders.push(started);
  return started;
};
const start = (overrides: Partial<SessionStart> = {}) =>
  helper.sessions.start(
    sessionStartSchema.parse({
      kubeContext: "kbridge-demo",
      namespace: "shop",
      targetKind: "service",
      targetName: "api",
      ports: [{ port: 80, workstationPort: (workstation.address() as AddressInfo).port }],
      privilegeMode: "unprivileged",
      profileId,
      ...overrides,
    }),
  );
const settled = (id: string) => until(() => helper.sessions.list().find((s) => s.id === id && ["connected", "failed", "ended"].includes(s.state)), `session ${id} to settle`, 45_000);

test("a disconnected and a failed session of a profile are recorded with outcome and summary; sessions without a profile are not", async () => {
  const live = recorder();
  await until(() => live.socket.connected, "the recorder to connect");
  const connected = start();
  expect((await settled(connected.id)).state).toBe("connected");
  await helper.sessions.stop(connected.id);
  const failed = start({ targetName: "nope" });
  await settled(failed.id);
  const anonymous = start({ targetName: "nope", profileId: undefined });
  await settled(anonymous.id);

  const records = await until(async () => {
    await live.flush();
    const rows = await listSessionRecords(profileId);
    return rows.length === 2 ? rows : undefined;
  }, "two records");
  const byId = new Map(records.map((r) => [r.sessionId, r]));
  expect(byId.get(connected.id)).toMatchObject({ outcome: "disconnected", summary: "service/api in shop: connected, then restored.", endedAt: expect.any(String) });
  expect(byId.get(failed.id)).toMatchObject({ outcome: "failed", summary: expect.stringContaining('There is no service "nope"') });
  expect(byId.has(anonymous.id)).toBe(false);
  await live.close();
});

test("sessions that ended while no dashboard ran are recorded when it connects, once", async () => {
  const before = (await listSessionRecords(profileId)).length;
  const ended = start({ targetName: "missing" });
  await settled(ended.id);
  const late = recorder();
  const rows = await until(async () => {
    await late.flush();
    const all = await listSessionRecords(profileId);
    return all.some((r) => r.sessionId === ended.id) ? all : undefined;
  }, "the late record");
  // The earlier sessions are listed again by the helper; upserts keep one record each.
  expect(rows).toHaveLength(before + 1);
});
