import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { tempDir, writeKubeconfig } from "../../test/support/tempDir.ts";
import { KbridgeError } from "../protocol/index.ts";
import { kubeconfigPaths, listContexts } from "./kubeconfig.ts";

const dir = tempDir("kubeconfig");

function errorOf(run: () => unknown): KbridgeError {
  try {
    run();
  } catch (error) {
    if (error instanceof KbridgeError) return error;
    throw error;
  }
  throw new Error("expected a KbridgeError");
}

describe("kubeconfigPaths", () => {
  test("KUBECONFIG lists files in order; ~/.kube/config otherwise", () => {
    expect(kubeconfigPaths({ KUBECONFIG: `/a/one${path.delimiter}${path.delimiter}/b/two` })).toEqual(["/a/one", "/b/two"]);
    expect(kubeconfigPaths({ KUBECONFIG: "" })[0]).toMatch(/\.kube\/config$/);
  });
});

describe("listContexts", () => {
  test("lists every context with its cluster's server and namespace, and the current one", () => {
    const list = listContexts([writeKubeconfig(dir)]);
    expect(list.currentContext).toBe("dev");
    expect(list.contexts).toEqual([
      { name: "dev", cluster: "dev-cluster", user: "developer", namespace: "shop", server: "https://127.0.0.1:6443" },
      { name: "prod", cluster: "prod-cluster", user: "developer", namespace: null, server: "https://127.0.0.1:7443" },
    ]);
  });

  test("merges several files like kubectl: first definition and first current-context win", () => {
    const second = path.join(dir, "second");
    fs.writeFileSync(
      second,
      `apiVersion: v1
kind: Config
current-context: staging
clusters: [{name: staging-cluster, cluster: {server: "https://127.0.0.1:8443"}}]
contexts:
- {name: staging, context: {cluster: staging-cluster, user: developer}}
- {name: dev, context: {cluster: staging-cluster, user: developer}}
users: [{name: developer, user: {token: x}}]
`,
    );
    const list = listContexts([writeKubeconfig(dir), path.join(dir, "absent"), second]);
    expect(list.currentContext).toBe("dev");
    expect(list.contexts.map((c) => `${c.name}@${c.cluster}`)).toEqual(["dev@dev-cluster", "prod@prod-cluster", "staging@staging-cluster"]);
  });

  test("no kubeconfig: a config error naming the paths and what to do", () => {
    const error = errorOf(() => listContexts([path.join(dir, "nowhere")]));
    expect(error.info.code).toBe("kubeconfig-missing");
    expect(error.info.category).toBe("config");
    expect(error.message).toContain(path.join(dir, "nowhere"));
    expect(error.info.hint).toMatch(/KUBECONFIG/);
    // Someone without a cluster yet is offered the demo (the dashboard shows the backquoted command as code).
    expect(error.info.hint).toContain("No cluster at hand? `npm run demo` in the kbridge clone starts a test cluster");
  });

  test("a kubeconfig that does not parse: an error naming the file and the problem", () => {
    const broken = path.join(dir, "broken");
    fs.writeFileSync(broken, "apiVersion: v1\nclusters: [\n  - name: x\n   bad indentation: {\n");
    const error = errorOf(() => listContexts([broken]));
    expect(error.info.code).toBe("kubeconfig-invalid");
    expect(error.message).toContain(broken);
    expect(error.message.length).toBeGreaterThan(broken.length + 30);
  });
});
