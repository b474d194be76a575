/**
 * What clients read before they act: `/version` (kubectl's dispatcher picks its binary by
 * it), legacy discovery (`/api`, `/apis`, APIResourceLists — kubectl falls back to these
 * when aggregated discovery is not offered), and a minimal OpenAPI v3 in which every
 * resource's PATCH advertises its GVK and `fieldValidation`, which is what default
 * `kubectl apply` validation checks for.
 */
import { createHash } from "node:crypto";
import { apiVersionOf, groupVersions, RESOURCE_TYPES, type ResourceType } from "./resources.ts";

export const KUBERNETES_VERSION = { major: "1", minor: "32", gitVersion: "v1.32.4", platform: "linux/amd64" };

export function versionInfo(): Record<string, string> {
  return {
    ...KUBERNETES_VERSION,
    gitCommit: "kbridge-emulator",
    gitTreeState: "clean",
    buildDate: "2026-01-01T00:00:00Z",
    goVersion: "go1.23.0",
    compiler: "gc",
  };
}

export function apiVersions(): unknown {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1" }] };
}

export function apiGroupList(): unknown {
  const groups = groupVersions().filter((gv) => gv.group !== "");
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: groups.map(({ group, version }) => ({
      name: group,
      versions: [{ groupVersion: `${group}/${version}`, version }],
      preferredVersion: { groupVersion: `${group}/${version}`, version },
    })),
  };
}

const SUBRESOURCE_VERBS: Record<string, string[]> = {
  status: ["get", "patch", "update"],
  scale: ["get", "patch", "update"],
  log: ["get"],
  exec: ["create", "get"],
  portforward: ["create", "get"],
  attach: ["create", "get"],
};

export function apiResourceList(group: string, version: string): unknown | null {
  const types = RESOURCE_TYPES.filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return null;
  const resources = types.flatMap((t) => [
    {
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length ? { categories: t.categories } : {}),
    },
    ...t.subresources.map((sub) => ({
      name: `${t.plural}/${sub}`,
      singularName: "",
      namespaced: t.namespaced,
      // kubectl resolves the Scale kind through discovery: it must name autoscaling/v1.
      ...(sub === "scale" ? { group: "autoscaling", version: "v1", kind: "Scale" } : { kind: sub === "status" ? t.kind : sub === "log" ? "Pod" : `Pod${capital(sub)}Options` }),
      verbs: SUBRESOURCE_VERBS[sub] ?? ["get"],
    })),
  ]);
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: group === "" ? version : `${group}/${version}`, resources };
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function openApiPathKey(group: string, version: string): string {
  return group === "" ? `api/${version}` : `apis/${group}/${version}`;
}

export function openApiIndex(): unknown {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const { group, version } of groupVersions()) {
    const key = openApiPathKey(group, version);
    const hash = createHash("sha256").update(JSON.stringify(openApiDocument(group, version))).digest("hex").slice(0, 32).toUpperCase();
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  return { paths };
}

export function openApiDocument(group: string, version: string): unknown | null {
  const types = RESOURCE_TYPES.filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return null;
  const paths: Record<string, unknown> = {};
  for (const t of types) paths[itemPath(t)] = { patch: patchOperation(t) };
  return { openapi: "3.0.0", info: { title: "Kubernetes", version: KUBERNETES_VERSION.gitVersion }, paths, components: { schemas: {} } };
}

function itemPath(t: ResourceType): string {
  const prefix = t.group === "" ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
  return `${prefix}${t.namespaced ? "/namespaces/{namespace}" : ""}/${t.plural}/{name}`;
}

function patchOperation(t: ResourceType): unknown {
  return {
    operationId: `patch${t.kind}`,
    "x-kubernetes-action": "patch",
    "x-kubernetes-group-version-kind": { group: t.group, version: t.version, kind: t.kind },
    parameters: [
      { name: "dryRun", in: "query", schema: { type: "string", uniqueItems: true } },
      { name: "fieldManager", in: "query", schema: { type: "string", uniqueItems: true } },
      { name: "fieldValidation", in: "query", schema: { type: "string", uniqueItems: true } },
      { name: "force", in: "query", schema: { type: "boolean", uniqueItems: true } },
    ],
    responses: { "200": { description: "OK" } },
    tags: [apiVersionOf(t)],
  };
}
