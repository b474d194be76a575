/**
 * Authentication and RBAC as a real cluster has them: the developer (group `developers`,
 * `edit` in `shop`) may deploy but not create Roles; nobody grants what they do not hold;
 * "may I?" and "who am I?" answer from the caller's own rules — with kubectl and client-node.
 */
import path from "node:path";
import { AuthorizationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { tempDir } from "../../support/tempDir.ts";
import { DEVELOPER_CONTEXT, startTestCluster, type TestCluster } from "../cluster.ts";
import { kind } from "../controllers/objects.ts";
import { kubectlFor } from "../support/kubectl.ts";

const dir = tempDir("rbac");
let cluster: TestCluster;
let kubeconfig: string;
let admin: ReturnType<typeof kubectlFor>;
let developer: ReturnType<typeof kubectlFor>;

const SHOP = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: developers-edit, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: developers}]
`;

const clientAs = (context: string) => {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  config.setCurrentContext(context);
  return config;
};

beforeAll(async () => {
  cluster = await startTestCluster();
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"), { developerNamespace: "shop" });
  admin = kubectlFor(kubeconfig);
  const asDeveloper = kubectlFor(kubeconfig);
  developer = (args, options) => asDeveloper(["--context", DEVELOPER_CONTEXT, ...args], options);
  const applied = await admin(["apply", "-f", "-"], { stdin: SHOP });
  if (applied.code !== 0) throw new Error(applied.stderr);
});
afterAll(() => cluster.stop());

describe("the developer with edit in shop", () => {
  test("kubectl auth can-i: deployments yes, roles no, nothing outside shop", async () => {
    expect(await developer(["auth", "can-i", "create", "deployments", "-n", "shop"])).toMatchObject({ code: 0, stdout: "yes\n" });
    expect(await developer(["auth", "can-i", "create", "pods", "--subresource=portforward", "-n", "shop"])).toMatchObject({ code: 0, stdout: "yes\n" });
    expect(await developer(["auth", "can-i", "create", "roles", "-n", "shop"])).toMatchObject({ code: 1, stdout: "no\n" });
    expect(await developer(["auth", "can-i", "create", "rolebindings", "-n", "shop"])).toMatchObject({ code: 1, stdout: "no\n" });
    expect(await developer(["auth", "can-i", "create", "deployments", "-n", "default"])).toMatchObject({ code: 1, stdout: "no\n" });
    expect(await developer(["auth", "can-i", "list", "nodes"])).toMatchObject({ code: 1, stdout: "no\n" });
  });

  test("a refused request is a 403 worded as the real API server words it", async () => {
    const roles = await developer(["create", "role", "reader", "--verb=get", "--resource=pods", "-n", "shop"]);
    expect(roles.code).not.toBe(0);
    expect(roles.stderr).toContain('roles.rbac.authorization.k8s.io is forbidden: User "developer" cannot create resource "roles" in API group "rbac.authorization.k8s.io" in the namespace "shop"');
    const binding = await developer(["create", "rolebinding", "me-admin", "--clusterrole=admin", "--user=developer", "-n", "shop"]);
    expect(binding.code).not.toBe(0);
    expect(binding.stderr).toContain('rolebindings.rbac.authorization.k8s.io is forbidden: User "developer" cannot create resource "rolebindings" in API group "rbac.authorization.k8s.io" in the namespace "shop"');
    const secrets = await developer(["get", "secrets", "-n", "kube-system"]);
    expect(secrets.stderr).toContain('secrets is forbidden: User "developer" cannot list resource "secrets" in API group "" in the namespace "kube-system"');
    const node = await developer(["get", "node", "kbridge-node"]);
    expect(node.stderr).toContain('nodes "kbridge-node" is forbidden: User "developer" cannot get resource "nodes" in API group "" at the cluster scope');
    // What edit allows works.
    const web = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: node:22}]}\n";
    expect((await developer(["apply", "-f", "-"], { stdin: web })).stderr).toBe("");
    expect((await developer(["create", "secret", "generic", "s", "--from-literal=a=b", "-n", "shop"])).code).toBe(0);
  });

  test("client-node sees 403 Forbidden with the Status body", async () => {
    const rbac = clientAs(DEVELOPER_CONTEXT).makeApiClient(RbacAuthorizationV1Api);
    const error = (await rbac.createNamespacedRole({ namespace: "shop", body: { metadata: { name: "r" }, rules: [] } }).catch((e: unknown) => e)) as { code?: number; body?: string };
    expect(error.code).toBe(403);
    expect(JSON.parse(error.body ?? "{}")).toMatchObject({ kind: "Status", status: "Failure", reason: "Forbidden", code: 403, details: { group: "rbac.authorization.k8s.io", kind: "roles" } });
  });

  test("SelfSubjectAccessReview answers like the real one, naming the binding that allows", async () => {
    const authz = clientAs(DEVELOPER_CONTEXT).makeApiClient(AuthorizationV1Api);
    const allowed = await authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { namespace: "shop", verb: "create", group: "apps", resource: "deployments" } } } });
    expect(allowed.status).toEqual({ allowed: true, reason: 'RBAC: allowed by RoleBinding "developers-edit/shop" of ClusterRole "edit" to Group "developers"' });
    const denied = await authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { namespace: "shop", verb: "create", group: "rbac.authorization.k8s.io", resource: "roles" } } } });
    expect(denied.status).toEqual({ allowed: false });
    const path = await authz.createSelfSubjectAccessReview({ body: { spec: { nonResourceAttributes: { path: "/version", verb: "get" } } } });
    expect(path.status?.allowed).toBe(true);
    const rules = await authz.createSelfSubjectRulesReview({ body: { spec: { namespace: "shop" } } });
    expect(rules.status?.incomplete).toBe(false);
    expect(rules.status?.resourceRules).toContainEqual(expect.objectContaining({ apiGroups: ["apps"], resources: expect.arrayContaining(["deployments"]), verbs: expect.arrayContaining(["create"]) }));
    expect(rules.status?.resourceRules.flatMap((r) => r.resources ?? [])).not.toContain("roles");
  });

  test("kubectl auth whoami and can-i --list", async () => {
    const whoami = await developer(["auth", "whoami", "-o", "json"]);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ kind: "SelfSubjectReview", status: { userInfo: { username: "developer", groups: ["developers", "system:authenticated"] } } });
    const list = await developer(["auth", "can-i", "--list", "-n", "shop"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/deployments\.apps\s+\[\]\s+\[\]\s+\[get list watch create delete deletecollection patch update\]/);
    expect(list.stdout).not.toMatch(/^roles/m);
  });
});

describe("escalation", () => {
  test("nobody binds or writes a role granting more than they hold, unless allowed to bind or escalate", async () => {
    const lead = cluster.addUser("lead", ["leads"]);
    expect((await admin(["create", "rolebinding", "lead-admin", "--clusterrole=admin", "--user=lead", "-n", "shop"])).code).toBe(0);
    const asLead = kubectlFor(kubeconfig);
    const leadKubectl = (args: string[]) => asLead(["--token", lead, ...args]);
    // admin in shop covers edit: the lead may grant it.
    expect((await leadKubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--user=dev2", "-n", "shop"])).stderr).toBe("");
    const escalate = await leadKubectl(["create", "rolebinding", "lead-root", "--clusterrole=cluster-admin", "--user=lead", "-n", "shop"]);
    expect(escalate.code).not.toBe(0);
    expect(escalate.stderr).toContain(
      'rolebindings.rbac.authorization.k8s.io "lead-root" is forbidden: user "lead" (groups=["leads" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}',
    );
    expect((await leadKubectl(["create", "role", "pod-reader", "--verb=get,list", "--resource=pods", "-n", "shop"])).stderr).toBe("");
    const nodes = await leadKubectl(["create", "role", "node-reader", "--verb=get", "--resource=nodes", "-n", "shop"]);
    expect(nodes.stderr).toContain('roles.rbac.authorization.k8s.io "node-reader" is forbidden: user "lead" (groups=["leads" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}');
    // `bind` on the role lifts the check for bindings, `escalate` for roles.
    expect((await admin(["create", "clusterrole", "bind-admin", "--verb=bind", "--resource=clusterroles", "--resource-name=cluster-admin"])).code).toBe(0);
    expect((await admin(["create", "rolebinding", "lead-bind", "--clusterrole=bind-admin", "--user=lead", "-n", "shop"])).code).toBe(0);
    expect((await leadKubectl(["create", "rolebinding", "lead-root", "--clusterrole=cluster-admin", "--user=lead", "-n", "shop"])).stderr).toBe("");
  });
});

describe("authentication", () => {
  test("a token the cluster did not issue is 401; the administrator's certificate is system:masters", async () => {
    const stranger = await admin(["--token", "not-a-token", "get", "pods"]);
    expect(stranger.stderr).toContain("Unauthorized");
    const certificate = kubectlFor(cluster.writeKubeconfig(path.join(dir, "cert-kubeconfig"), { auth: "certificate" }));
    const whoami = await certificate(["auth", "whoami", "-o", "json"]);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ status: { userInfo: { username: "kbridge-user", groups: ["system:masters", "system:authenticated"] } } });
    expect((await certificate(["auth", "can-i", "*", "*"])).stdout).toBe("yes\n");
  });

  test("the administrator keeps every right, through the cluster-admin binding", async () => {
    const core = clientAs("kbridge-demo").makeApiClient(CoreV1Api);
    // Every namespace's Secrets, which no one below cluster-admin may list.
    expect((await core.listSecretForAllNamespaces()).items.map((s) => s.metadata?.name).sort()).toEqual(cluster.store.list(kind("Secret")).map((s) => s.metadata.name).sort());
    expect((await admin(["auth", "can-i", "create", "clusterroles"])).stdout).toBe("yes\n");
  });
});
