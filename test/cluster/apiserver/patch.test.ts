import { describe, expect, test } from "vitest";
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from "./patch.ts";

const deployment = {
  metadata: { name: "web", labels: { app: "web" }, finalizers: ["a"] },
  spec: {
    replicas: 2,
    template: {
      spec: {
        containers: [
          { name: "web", image: "web:1", env: [{ name: "A", value: "1" }, { name: "B", value: "2" }], ports: [{ containerPort: 80 }] },
          { name: "sidecar", image: "proxy:1", args: ["--a", "--b"] },
        ],
        volumes: [{ name: "config", configMap: { name: "web" } }],
      },
    },
  },
};

describe("strategic merge patch", () => {
  test("merges keyed lists by their key, replaces atomic lists, deletes with null", () => {
    const patched = strategicMergePatch(deployment, {
      metadata: { labels: { tier: "front" } },
      spec: {
        replicas: null,
        template: {
          spec: {
            containers: [
              { name: "web", image: "web:2", env: [{ name: "B", value: "two" }, { name: "C", value: "3" }] },
              { name: "sidecar", args: ["--c"] },
            ],
          },
        },
      },
    }) as typeof deployment;
    expect(patched.metadata.labels).toEqual({ app: "web", tier: "front" });
    expect(patched.spec.replicas).toBeUndefined();
    const [web, sidecar] = patched.spec.template.spec.containers;
    expect(web).toEqual({ name: "web", image: "web:2", env: [{ name: "A", value: "1" }, { name: "B", value: "two" }, { name: "C", value: "3" }], ports: [{ containerPort: 80 }] });
    expect(sidecar).toEqual({ name: "sidecar", image: "proxy:1", args: ["--c"] });
    expect(patched.spec.template.spec.volumes).toEqual(deployment.spec.template.spec.volumes);
  });

  test("honours $patch: delete / replace, $deleteFromPrimitiveList, $retainKeys and ignores $setElementOrder", () => {
    const patched = strategicMergePatch(deployment, {
      metadata: { finalizers: ["b"], "$deleteFromPrimitiveList/finalizers": ["a"] },
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "web" }],
            containers: [{ name: "sidecar", $patch: "delete" }],
            volumes: [{ name: "data", emptyDir: {}, $retainKeys: ["name", "emptyDir"] }],
          },
        },
      },
    }) as typeof deployment;
    expect(patched.metadata.finalizers).toEqual(["b"]);
    expect(patched.spec.template.spec.containers.map((c) => c.name)).toEqual(["web"]);
    expect(patched.spec.template.spec.volumes).toEqual([{ name: "config", configMap: { name: "web" } }, { name: "data", emptyDir: {} }]);
    expect(strategicMergePatch({ a: { x: 1, y: 2 } }, { a: { $patch: "replace", z: 3 } })).toEqual({ a: { z: 3 } });
  });

  test("service ports merge by port, container ports by containerPort", () => {
    const service = { spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443, targetPort: 8443 }] } };
    expect(strategicMergePatch(service, { spec: { ports: [{ port: 80, targetPort: 9090 }] } })).toEqual({
      spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443, targetPort: 8443 }] },
    });
  });
});

describe("merge patch (RFC 7396) and JSON patch (RFC 6902)", () => {
  test("merge patch replaces lists and deletes with null", () => {
    expect(mergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] })).toEqual({ a: { c: 2, d: 3 }, l: [3] });
  });

  test("JSON patch runs every operation and fails a test operation", () => {
    const doc = { a: { b: [1, 2] }, c: "x" };
    expect(
      jsonPatch(doc, [
        { op: "add", path: "/a/b/-", value: 3 },
        { op: "replace", path: "/c", value: "y" },
        { op: "copy", from: "/c", path: "/d" },
        { op: "move", from: "/a/b/0", path: "/first" },
        { op: "remove", path: "/d" },
        { op: "test", path: "/c", value: "y" },
        { op: "add", path: "/e~1f", value: true },
      ]),
    ).toEqual({ a: { b: [2, 3] }, c: "y", first: 1, "e/f": true });
    expect(doc).toEqual({ a: { b: [1, 2] }, c: "x" });
    expect(() => jsonPatch(doc, [{ op: "test", path: "/c", value: "nope" }])).toThrow(PatchError);
    expect(() => jsonPatch(doc, [{ op: "replace", path: "/missing", value: 1 }])).toThrow(PatchError);
  });
});
