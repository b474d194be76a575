import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";

/** A temporary folder removed after the file's tests (kept when KEEP_FAILED=1). */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kbridge-${prefix}-`));
  afterAll(() => {
    if (process.env.KEEP_FAILED !== "1") fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A kubeconfig with two contexts (`dev`, current, and `prod`), written into `dir`. */
export function writeKubeconfig(dir: string, name = "kubeconfig"): string {
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    `apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://127.0.0.1:6443
- name: prod-cluster
  cluster:
    server: https://127.0.0.1:7443
contexts:
- name: dev
  context: {cluster: dev-cluster, user: developer, namespace: shop}
- name: prod
  context: {cluster: prod-cluster, user: developer}
users:
- name: developer
  user: {token: not-a-real-token}
`,
  );
  return file;
}
