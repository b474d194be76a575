/** JSON Patch (RFC 6902) and JSON Merge Patch (RFC 7396). Strategic merge patch comes with the controllers. */
import { badRequest } from "./status.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> = target && typeof target === "object" && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

export function jsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest("json patch must be an array of operations");
  let doc = structuredClone(document) as Json;
  for (const raw of operations as Operation[]) {
    const { op, path } = raw;
    switch (op) {
      case "add":
        doc = put(doc, pointer(path), structuredClone(raw.value as Json), "add");
        break;
      case "replace":
        get(doc, pointer(path));
        doc = put(doc, pointer(path), structuredClone(raw.value as Json), "replace");
        break;
      case "remove":
        doc = remove(doc, pointer(path));
        break;
      case "move": {
        const value = get(doc, pointer(raw.from ?? ""));
        doc = put(remove(doc, pointer(raw.from ?? "")), pointer(path), value, "add");
        break;
      }
      case "copy":
        doc = put(doc, pointer(path), structuredClone(get(doc, pointer(raw.from ?? ""))), "add");
        break;
      case "test":
        if (JSON.stringify(get(doc, pointer(path))) !== JSON.stringify(raw.value)) throw new PatchError(`test operation failed at ${path}`);
        break;
      default:
        throw badRequest(`unknown json patch operation "${op}"`);
    }
  }
  return doc;
}

export class PatchError extends Error {}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw badRequest(`invalid json pointer "${path}"`);
  return path.slice(1).split("/").map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function get(doc: Json, parts: string[]): Json {
  let at: Json = doc;
  for (const part of parts) {
    if (Array.isArray(at) && /^\d+$/.test(part) && Number(part) < at.length) at = at[Number(part)] as Json;
    else if (at && typeof at === "object" && !Array.isArray(at) && part in at) at = at[part] as Json;
    else throw new PatchError(`path /${parts.join("/")} does not exist`);
  }
  return at;
}

function put(doc: Json, parts: string[], value: Json, mode: "add" | "replace"): Json {
  if (parts.length === 0) return value;
  const parent = get(doc, parts.slice(0, -1));
  const last = parts.at(-1) as string;
  if (Array.isArray(parent)) {
    const index = last === "-" ? parent.length : Number(last);
    if (!Number.isInteger(index) || index > parent.length) throw new PatchError(`invalid array index ${last}`);
    if (mode === "add") parent.splice(index, 0, value);
    else parent[index] = value;
  } else if (parent && typeof parent === "object") parent[last] = value;
  else throw new PatchError(`cannot add to a non-container at /${parts.join("/")}`);
  return doc;
}

function remove(doc: Json, parts: string[]): Json {
  const parent = get(doc, parts.slice(0, -1));
  const last = parts.at(-1) as string;
  get(doc, parts);
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (parent && typeof parent === "object") delete parent[last];
  return doc;
}

/**
 * List fields that merge by a key under strategic merge patch (from k8s.io/api struct
 * tags). `ports` is keyed by containerPort in containers and by port in services; the key
 * present in the items decides. Lists not named here are replaced whole.
 */
const MERGE_KEYS: Record<string, string[]> = {
  containers: ["name"],
  initContainers: ["name"],
  ephemeralContainers: ["name"],
  volumes: ["name"],
  imagePullSecrets: ["name"],
  env: ["name"],
  ports: ["containerPort", "port"],
  volumeMounts: ["mountPath"],
  ownerReferences: ["uid"],
  conditions: ["type"],
  hostAliases: ["ip"],
  topologySpreadConstraints: ["topologyKey"],
};
/** Primitive lists that SMP merges as sets. */
const SET_LISTS = new Set(["finalizers"]);

type Obj = Record<string, unknown>;
const isObject = (value: unknown): value is Obj => value !== null && typeof value === "object" && !Array.isArray(value);

/** Strategic merge patch for built-in kinds, with the `$patch`, `$retainKeys`, `$setElementOrder` and `$deleteFromPrimitiveList` directives. */
export function strategicMergePatch(original: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  if (patch.$patch === "replace") {
    const { $patch: _ignored, ...rest } = patch;
    return rest;
  }
  if (patch.$patch === "delete") return undefined;
  const result: Obj = isObject(original) ? { ...original } : {};
  const retain = Array.isArray(patch.$retainKeys) ? new Set(patch.$retainKeys as string[]) : null;
  for (const [key, value] of Object.entries(patch)) {
    if (key === "$patch" || key === "$retainKeys" || key.startsWith("$setElementOrder/")) continue;
    if (key.startsWith("$deleteFromPrimitiveList/")) {
      const field = key.slice("$deleteFromPrimitiveList/".length);
      const remove = new Set((value as unknown[]) ?? []);
      if (Array.isArray(result[field])) result[field] = (result[field] as unknown[]).filter((item) => !remove.has(item));
      continue;
    }
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value)) {
      result[key] = mergeList(key, result[key], value);
    } else if (isObject(value)) {
      const merged = strategicMergePatch(result[key], value);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else {
      result[key] = value;
    }
  }
  if (retain) for (const key of Object.keys(result)) if (!retain.has(key)) delete result[key];
  return result;
}

function mergeList(field: string, original: unknown, patch: unknown[]): unknown[] {
  const current = Array.isArray(original) ? original : [];
  if (SET_LISTS.has(field)) return [...new Set([...current, ...patch])];
  const candidates = MERGE_KEYS[field];
  const mergeKey = candidates?.find((key) => patch.some((item) => isObject(item) && key in item));
  if (!mergeKey) {
    if (patch.length === 1 && isObject(patch[0]) && patch[0].$patch === "replace") return [];
    return patch;
  }
  if (patch.some((item) => isObject(item) && item.$patch === "replace")) {
    return patch.filter((item) => !(isObject(item) && item.$patch === "replace"));
  }
  const result = current.map((item) => structuredClone(item));
  for (const item of patch) {
    if (!isObject(item)) continue;
    const index = result.findIndex((existing) => isObject(existing) && existing[mergeKey] === item[mergeKey]);
    if (item.$patch === "delete") {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = strategicMergePatch(result[index], item);
    } else {
      result.push(strategicMergePatch({}, item));
    }
  }
  return result;
}
