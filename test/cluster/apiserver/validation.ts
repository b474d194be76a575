/**
 * What the real API server refuses as 422 Invalid, with its words and field paths: names,
 * label keys and values, ports, a Deployment's selector against its template, and the
 * immutable fields (a workload's selector, a Service's clusterIP, a Pod's spec but for
 * images and a few others). The messages are apimachinery's (validation.go and
 * apps/validation); each error also goes into the Status's `details.causes`.
 */
import { canonicalJson } from "./canonicalJson.ts";
import { ApiError } from "./status.ts";
import type { KubeObject } from "./store.ts";
import type { ResourceType } from "./resources.ts";

type Any = Record<string, unknown>;
const obj = (value: unknown): Any => (value && typeof value === "object" && !Array.isArray(value) ? (value as Any) : {});
const arr = (value: unknown): Any[] => (Array.isArray(value) ? (value as Any[]) : []);

interface FieldError {
  field: string;
  /** Go's rendering of the value, as the message shows it (absent for a Forbidden error). */
  value?: string;
  detail: string;
}

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const SUBDOMAIN_TEXT =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_1123_TEXT =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const LABEL_1035_TEXT =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_TEXT =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_TEXT =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const PORT_TEXT = "must be between 1 and 65535, inclusive";

const quoted = (value: string) => JSON.stringify(value);

/** RBAC objects' names need only be path segments (`system:discovery` is valid). */
function pathSegmentErrors(name: string): FieldError[] {
  const detail = name === "." || name === ".." ? `may not be '${name}'` : name.includes("/") ? "may not contain '/'" : name.includes("%") ? "may not contain '%'" : undefined;
  return detail ? [{ field: "metadata.name", value: quoted(name), detail }] : [];
}

/** The name's rule by kind: a Service's is a DNS-1035 label, a Namespace's an RFC 1123 label, RBAC's path segments, the rest subdomains. */
function nameErrors(type: ResourceType, name: string): FieldError[] {
  const { kind } = type;
  if (type.group === "rbac.authorization.k8s.io") return pathSegmentErrors(name);
  const [pattern, text, max] = kind === "Service" ? [LABEL_1035, LABEL_1035_TEXT, 63] : kind === "Namespace" ? [LABEL_1123, LABEL_1123_TEXT, 63] : [SUBDOMAIN, SUBDOMAIN_TEXT, 253];
  const errors: FieldError[] = [];
  if (name.length > max) errors.push({ field: "metadata.name", value: quoted(name), detail: `must be no more than ${max} characters` });
  if (!pattern.test(name)) errors.push({ field: "metadata.name", value: quoted(name), detail: text });
  return errors;
}

function qualifiedNameErrors(field: string, key: string): FieldError[] {
  const slash = key.indexOf("/");
  const [prefix, name] = slash >= 0 ? [key.slice(0, slash), key.slice(slash + 1)] : [undefined, key];
  const errors: FieldError[] = [];
  if (prefix !== undefined && (prefix.length > 253 || !SUBDOMAIN.test(prefix))) errors.push({ field, value: quoted(key), detail: `prefix part ${SUBDOMAIN_TEXT}` });
  if (name.length > 63) errors.push({ field, value: quoted(key), detail: "name part must be no more than 63 characters" });
  if (!QUALIFIED_NAME.test(name)) errors.push({ field, value: quoted(key), detail: QUALIFIED_NAME_TEXT });
  return errors;
}

function labelErrors(field: string, labels: unknown): FieldError[] {
  return Object.entries(obj(labels)).flatMap(([key, value]) => {
    const errors = qualifiedNameErrors(field, key);
    const text = String(value);
    if (text.length > 63) errors.push({ field, value: quoted(text), detail: "must be no more than 63 characters" });
    if (!LABEL_VALUE.test(text)) errors.push({ field, value: quoted(text), detail: LABEL_VALUE_TEXT });
    return errors;
  });
}

const portError = (field: string, port: unknown): FieldError[] => (typeof port === "number" && (!Number.isInteger(port) || port < 1 || port > 65535) ? [{ field, value: String(port), detail: PORT_TEXT }] : []);

function podSpecErrors(path: string, spec: Any): FieldError[] {
  return ["containers", "initContainers"].flatMap((list) =>
    arr(spec[list]).flatMap((container, i) => arr(container.ports).flatMap((port, j) => portError(`${path}.${list}[${i}].ports[${j}].containerPort`, port.containerPort))),
  );
}

/** Go's %#v of a map[string]string, as the selector message shows the template's labels. */
const goMap = (labels: Record<string, string>) => `map[string]string{${Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${quoted(k)}:${quoted(v)}`).join(", ")}}`;

function workloadErrors(object: KubeObject, old: KubeObject | undefined): FieldError[] {
  const spec = obj(object.spec);
  const template = obj(spec.template);
  const labels = obj(obj(template.metadata).labels) as Record<string, string>;
  const matchLabels = obj(obj(spec.selector).matchLabels) as Record<string, string>;
  const errors = [...labelErrors("spec.template.metadata.labels", labels), ...podSpecErrors("spec.template.spec", obj(template.spec))];
  if (Object.entries(matchLabels).some(([key, value]) => labels[key] !== value)) {
    errors.push({ field: "spec.template.metadata.labels", value: goMap(labels), detail: "`selector` does not match template `labels`" });
  }
  const before = old && obj(obj(old.spec).selector);
  if (before && canonicalJson(obj(before.matchLabels)) !== canonicalJson(matchLabels)) {
    errors.push({ field: "spec.selector", value: `v1.LabelSelector{MatchLabels:${goMap(matchLabels)}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`, detail: "field is immutable" });
  }
  return errors;
}

const POD_UPDATE =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/** A pod's spec is fixed once created, but for the few fields the real server lets change. */
function podUpdateErrors(spec: Any, old: KubeObject): FieldError[] {
  const mutable = (value: Any) => {
    const copy = structuredClone(value);
    for (const list of ["containers", "initContainers"]) for (const container of arr(copy[list])) delete container.image;
    delete copy.activeDeadlineSeconds;
    delete copy.tolerations;
    delete copy.terminationGracePeriodSeconds;
    return canonicalJson(copy);
  };
  return mutable(spec) === mutable(obj(old.spec)) ? [] : [{ field: "spec", detail: POD_UPDATE }];
}

function serviceErrors(spec: Any, old: KubeObject | undefined): FieldError[] {
  const errors = arr(spec.ports).flatMap((port, i) => [...portError(`spec.ports[${i}].port`, port.port), ...portError(`spec.ports[${i}].targetPort`, port.targetPort), ...portError(`spec.ports[${i}].nodePort`, port.nodePort)]);
  const before = old && obj(old.spec).clusterIP;
  if (typeof before === "string" && before !== "" && spec.clusterIP !== before && obj(old?.spec).type !== "ExternalName" && spec.type !== "ExternalName") {
    errors.push({ field: "spec.clusterIPs[0]", value: `[]string{${arr(spec.clusterIPs).map((ip) => quoted(String(ip))).join(", ") || quoted(String(spec.clusterIP))}}`, detail: "may not change once set" });
  }
  return errors;
}

function kindErrors(type: ResourceType, object: KubeObject, old: KubeObject | undefined): FieldError[] {
  const spec = obj(object.spec);
  switch (type.kind) {
    case "Service":
      return serviceErrors(spec, old);
    case "Pod":
      return [...podSpecErrors("spec", spec), ...(old ? podUpdateErrors(spec, old) : [])];
    case "Deployment":
    case "StatefulSet":
      return workloadErrors(object, old);
    default:
      return [];
  }
}

/** Throws 422 Invalid with every error found; `old` is the stored object on an update. */
export function validate(type: ResourceType, object: KubeObject, old?: KubeObject): void {
  const name = object.metadata.name ?? "";
  const errors = [
    ...(old ? [] : nameErrors(type, name)),
    ...labelErrors("metadata.labels", object.metadata.labels),
    ...Object.keys(obj(object.metadata.annotations)).flatMap((key) => qualifiedNameErrors("metadata.annotations", key)),
    ...kindErrors(type, object, old),
  ];
  if (errors.length === 0) return;
  const message = (e: FieldError) => (e.value === undefined ? `Forbidden: ${e.detail}` : `Invalid value: ${e.value}: ${e.detail}`);
  const texts = errors.map((e) => `${e.field}: ${message(e)}`);
  const kind = type.group ? `${type.kind}.${type.group}` : type.kind;
  throw new ApiError(422, "Invalid", `${kind} ${quoted(name)} is invalid: ${texts.length === 1 ? texts[0] : `[${texts.join(", ")}]`}`, {
    name,
    kind: type.kind,
    ...(type.group ? { group: type.group } : {}),
    causes: errors.map((e) => ({ reason: e.value === undefined ? "FieldValueForbidden" : "FieldValueInvalid", message: message(e), field: e.field })),
  });
}
