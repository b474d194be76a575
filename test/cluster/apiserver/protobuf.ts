/**
 * Request bodies in Kubernetes' protobuf encoding, for the kinds kubectl v1.32 sends that
 * way and the emulator's users need: `kubectl auth can-i` / `whoami` (the reviews) and
 * `kubectl create namespace|serviceaccount|configmap|secret|role|rolebinding|clusterrole|clusterrolebinding`. The envelope is
 * `k8s\0` + runtime.Unknown; the fields are those of the k8s.io/api generated.proto files.
 */
import { ApiError } from "./status.ts";

type Field = [name: string, kind: "string" | "strings" | "map" | "bytesMap" | Schema | [Schema]];
interface Schema {
  [number: number]: Field;
}

const OBJECT_META: Schema = { 1: ["name", "string"], 2: ["generateName", "string"], 3: ["namespace", "string"], 6: ["resourceVersion", "string"], 11: ["labels", "map"], 12: ["annotations", "map"], 14: ["finalizers", "strings"] };
const POLICY_RULE: Schema = { 1: ["verbs", "strings"], 2: ["apiGroups", "strings"], 3: ["resources", "strings"], 4: ["resourceNames", "strings"], 5: ["nonResourceURLs", "strings"] };
const ROLE: Schema = { 1: ["metadata", OBJECT_META], 2: ["rules", [POLICY_RULE]] };
const BINDING: Schema = {
  1: ["metadata", OBJECT_META],
  2: ["subjects", [{ 1: ["kind", "string"], 2: ["apiGroup", "string"], 3: ["name", "string"], 4: ["namespace", "string"] }]],
  3: ["roleRef", { 1: ["apiGroup", "string"], 2: ["kind", "string"], 3: ["name", "string"] }],
};
const RESOURCE_ATTRIBUTES: Schema = { 1: ["namespace", "string"], 2: ["verb", "string"], 3: ["group", "string"], 4: ["version", "string"], 5: ["resource", "string"], 6: ["subresource", "string"], 7: ["name", "string"] };

const SCHEMAS: Record<string, Schema> = {
  Namespace: { 1: ["metadata", OBJECT_META] },
  ServiceAccount: { 1: ["metadata", OBJECT_META] },
  ConfigMap: { 1: ["metadata", OBJECT_META], 2: ["data", "map"] },
  Secret: { 1: ["metadata", OBJECT_META], 2: ["data", "bytesMap"], 3: ["type", "string"], 4: ["stringData", "map"] },
  Role: ROLE,
  ClusterRole: ROLE,
  RoleBinding: BINDING,
  ClusterRoleBinding: BINDING,
  SelfSubjectAccessReview: { 1: ["metadata", OBJECT_META], 2: ["spec", { 1: ["resourceAttributes", RESOURCE_ATTRIBUTES], 2: ["nonResourceAttributes", { 1: ["path", "string"], 2: ["verb", "string"] }] }] },
  SelfSubjectRulesReview: { 1: ["metadata", OBJECT_META], 2: ["spec", { 1: ["namespace", "string"] }] },
  SelfSubjectReview: { 1: ["metadata", OBJECT_META] },
};

/** Field number → values (a varint as a number, a length-delimited field as its bytes). */
function readMessage(bytes: Buffer): Map<number, (number | Buffer)[]> {
  const fields = new Map<number, (number | Buffer)[]>();
  let at = 0;
  const varint = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (at >= bytes.length) throw new Error("truncated varint");
      const byte = bytes[at++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
      shift += 7;
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const [number, wire] = [Math.floor(key / 8), key % 8];
    let value: number | Buffer;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const length = varint();
      value = bytes.subarray(at, at + length);
      at += length;
    } else if (wire === 1 || wire === 5) {
      at += wire === 1 ? 8 : 4;
      continue;
    } else throw new Error(`unsupported wire type ${wire}`);
    fields.set(number, [...(fields.get(number) ?? []), value]);
  }
  return fields;
}

function decode(bytes: Buffer, schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [number, values] of readMessage(bytes)) {
    const field = schema[number];
    if (!field) continue;
    const [name, kind] = field;
    const buffers = values.filter((v): v is Buffer => Buffer.isBuffer(v));
    // Go writes every string, empty ones too; JSON's omitempty leaves those out.
    if (kind === "string") {
      const text = buffers.at(-1)?.toString("utf8") ?? "";
      if (text !== "") out[name] = text;
    }
    else if (kind === "strings") out[name] = buffers.map((b) => b.toString("utf8"));
    else if (kind === "map" || kind === "bytesMap") {
      const entries = buffers.map((b) => readMessage(b)).map((e) => [String(e.get(1)?.[0] ?? ""), (e.get(2)?.[0] as Buffer | undefined) ?? Buffer.alloc(0)] as const);
      out[name] = Object.fromEntries(entries.map(([key, value]) => [key, kind === "map" ? value.toString("utf8") : value.toString("base64")]));
    }
    else if (Array.isArray(kind)) out[name] = buffers.map((b) => decode(b, kind[0]));
    else out[name] = decode(buffers.at(-1) ?? Buffer.alloc(0), kind);
  }
  return out;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** The object a protobuf request body holds; 415 for kinds the emulator does not decode. */
export function decodeProtobuf(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(MAGIC)) throw new ApiError(400, "BadRequest", "the protobuf request body does not start with the k8s\\0 envelope");
  try {
    const unknown = readMessage(body.subarray(4));
    const typeMeta = readMessage((unknown.get(1)?.[0] as Buffer | undefined) ?? Buffer.alloc(0));
    const apiVersion = String(typeMeta.get(1)?.[0] ?? "");
    const kind = String(typeMeta.get(2)?.[0] ?? "");
    const schema = SCHEMAS[kind];
    if (!schema) {
      throw new ApiError(415, "UnsupportedMediaType", `the kbridge test cluster does not decode protobuf ${kind || "request"} bodies; send JSON (kubectl apply -f / create -f do)`);
    }
    return { apiVersion, kind, ...decode((unknown.get(2)?.[0] as Buffer | undefined) ?? Buffer.alloc(0), schema) };
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(400, "BadRequest", `the protobuf request body could not be decoded: ${(error as Error).message}`);
  }
}
