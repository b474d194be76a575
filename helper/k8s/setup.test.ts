import fs from "node:fs";
import { parseAllDocuments } from "yaml";
import { describe, expect, test } from "vitest";
import { DEMO_SETUP } from "../../test/cluster/demo/demoApp.ts";
import { setupObjects, setupYaml } from "./setup.ts";

describe("kbridge setup", () => {
  test("grants the restorer nothing edit lacks: no RBAC, nothing outside the namespace", () => {
    const roles = setupObjects("shop").filter((o) => o.kind === "Role");
    const groups = roles.flatMap((o) => (o.kind === "Role" ? (o.body.rules ?? []).flatMap((r) => r.apiGroups ?? []) : []));
    expect(new Set(groups)).toEqual(new Set(["", "apps", "networking.k8s.io"]));
    expect(setupObjects("shop").every((o) => o.body.metadata?.namespace === "shop")).toBe(true);
  });

  test("the demo's copy of the setup is what kbridge setup --print writes", () => {
    const demo = parseAllDocuments(fs.readFileSync(DEMO_SETUP, "utf8")).map((d) => d.toJS() as unknown);
    expect(demo).toEqual(parseAllDocuments(setupYaml("shop")).map((d) => d.toJS() as unknown));
  });
});
