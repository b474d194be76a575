/**
 * Bridge to Kubernetes' `KubernetesLocalProcessConfig.yaml` (version 0.1), so existing
 * projects keep working: `env` entries whose values mix text with `$(services:…)`,
 * `$(volumeMounts:…)` and `$(externalEndpoints:…)` tokens, `volumeMounts` (where a volume is
 * downloaded; names may use `*`), and `enableFeatures` (`Probes`, `LifecycleHooks`).
 * Every error names the file, the line and what is wrong.
 */
import path from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { KbridgeError, type ConfigPreviewView } from "../protocol/index.ts";
import { isWithin, readRegularFile } from "../shared/safeFiles.ts";

export const CONFIG_FILE_NAME = "KubernetesLocalProcessConfig.yaml";

export type ConfigToken =
  | { kind: "text"; text: string }
  | { kind: "service"; name: string; namespace?: string }
  | { kind: "volume"; name: string }
  | { kind: "external"; host: string; ports: number[] };

export interface ConfigEnvEntry {
  name: string;
  tokens: ConfigToken[];
  line: number;
}

export interface LocalProcessConfig {
  file: string;
  env: ConfigEnvEntry[];
  volumeMounts: { name: string; localPath?: string; line: number }[];
  features: { probes: boolean; lifecycleHooks: boolean };
  warnings: string[];
}

const FEATURES = new Set(["probes", "lifecyclehooks", "managedidentity"]);

/** A config file is a few lines; anything much bigger is not one. */
export const CONFIG_FILE_MAX_BYTES = 256 * 1024;

export function readLocalProcessConfig(file: string): LocalProcessConfig {
  let text: string;
  try {
    text = readRegularFile(file, CONFIG_FILE_MAX_BYTES);
  } catch (error) {
    throw new KbridgeError({ code: "config-file-unreadable", category: "user", message: `Cannot read ${file}: ${(error as Error).message}.`, hint: "Fix the config file path in the profile (or --config): it must be a regular file of at most 256 KiB." });
  }
  return parseLocalProcessConfig(text, file);
}

/** Deeper flow collections than this are no config file; the YAML parser would recurse until the stack (or the regex compiler's memory) gives out. */
const MAX_NESTING = 64;

/** The deepest `[`/`{` nesting of the text, and the line it is reached on. */
function flowNesting(text: string): { depth: number; line: number } {
  let depth = 0;
  let line = 1;
  const deepest = { depth: 0, line: 1 };
  for (const char of text) {
    if (char === "\n") line++;
    else if (char === "[" || char === "{") {
      depth++;
      if (depth > deepest.depth) Object.assign(deepest, { depth, line });
    } else if ((char === "]" || char === "}") && depth > 0) depth--;
  }
  return deepest;
}

export function parseLocalProcessConfig(text: string, file: string): LocalProcessConfig {
  const nesting = flowNesting(text);
  if (nesting.depth > MAX_NESTING) {
    throw new KbridgeError({ code: "config-file-invalid", category: "user", message: `${file} line ${nesting.line}: lists and maps nested more than ${MAX_NESTING} levels deep`, hint: "This is no KubernetesLocalProcessConfig.yaml; check the profile's config file." });
  }
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const lineOf = (node: Node | null | undefined) => (node?.range ? lines.linePos(node.range[0]).line : 1);
  const fail = (line: number, what: string): never => {
    throw new KbridgeError({ code: "config-file-invalid", category: "user", message: `${file} line ${line}: ${what}`, hint: "See the KubernetesLocalProcessConfig.yaml reference (version 0.1) in the README." });
  };
  const [syntax] = document.errors;
  if (syntax) fail(syntax.linePos?.[0]?.line ?? 1, syntax.message.split("\n")[0] ?? "not valid YAML");
  const root = document.contents;
  if (!isMap(root)) return fail(lineOf(root), "expected a mapping with version, env, volumeMounts and enableFeatures");
  const config: LocalProcessConfig = { file, env: [], volumeMounts: [], features: { probes: false, lifecycleHooks: false }, warnings: [] };
  let version: string | undefined;
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    const value = pair.value as Node | null;
    const line = lineOf(pair.key as Node);
    switch (key) {
      case "version":
        version = isScalar(value) ? String(value.value) : undefined;
        if (version === undefined || !/^\d+(\.\d+)*$/.test(version)) fail(line, `version must be a number such as 0.1 (got ${JSON.stringify(version ?? null)})`);
        if (compareVersions(version as string, "0.1") > 0) fail(line, `version ${version} is newer than the 0.1 kbridge reads`);
        break;
      case "env":
        for (const item of sequence(value, "env", line, fail)) {
          const itemLine = lineOf(item);
          const name = field(item, "name", itemLine, fail);
          if (name.length === 0 || name.length >= 255) fail(itemLine, "env entries need a name shorter than 255 characters");
          config.env.push({ name, tokens: parseTokens(field(item, "value", itemLine, fail, true), (what) => fail(itemLine, `${name}: ${what}`)), line: itemLine });
        }
        break;
      case "volumeMounts":
        for (const item of sequence(value, "volumeMounts", line, fail)) {
          const itemLine = lineOf(item);
          const name = field(item, "name", itemLine, fail);
          if (name.length > 253) fail(itemLine, `volume names are at most 253 characters (this one has ${name.length})`);
          const localPath = field(item, "localPath", itemLine, fail, true) || undefined;
          const folder = path.dirname(path.resolve(file));
          if (localPath !== undefined && !isWithin(folder, path.resolve(folder, localPath))) {
            fail(itemLine, `localPath ${localPath} of volume ${name} is outside the project folder (${folder}): kbridge writes the cluster's files only inside the project, or without a localPath in its own volumes folder. Use a path inside the project (such as ./volumes/${name.replace(/\*/g, "x")}) or leave localPath out`);
          }
          config.volumeMounts.push({ name, ...(localPath ? { localPath } : {}), line: itemLine });
        }
        break;
      case "enableFeatures":
        for (const item of sequence(value, "enableFeatures", line, fail)) {
          const feature = isScalar(item) ? String(item.value) : "";
          const known = feature.toLowerCase();
          if (known === "probes") config.features.probes = true;
          else if (known === "lifecyclehooks") config.features.lifecycleHooks = true;
          else config.warnings.push(`line ${lineOf(item)}: ${FEATURES.has(known) ? `${feature} is not supported by kbridge; ignored` : `unknown feature ${JSON.stringify(feature)}; ignored`}`);
        }
        break;
      default:
        fail(line, `unknown key ${JSON.stringify(key)}; the keys are version, env, volumeMounts and enableFeatures`);
    }
  }
  if (version === undefined) fail(1, "version is required (version: 0.1)");
  return config;
}

function sequence(value: Node | null, key: string, line: number, fail: (line: number, what: string) => never): Node[] {
  if (value === null || (isScalar(value) && value.value === null)) return [];
  if (!isSeq(value)) fail(line, `${key} must be a list`);
  return (value as unknown as { items: Node[] }).items;
}

function field(item: Node, name: string, line: number, fail: (line: number, what: string) => never, optional = false): string {
  if (!isMap(item)) fail(line, "expected an entry with name and value");
  const value = (item as unknown as { get(key: string, keepScalar: true): Node | undefined }).get(name, true);
  if (value === undefined || (isScalar(value) && value.value === null)) {
    if (optional) return "";
    fail(line, `missing ${name}`);
  }
  if (!isScalar(value)) fail(line, `${name} must be text`);
  return String((value as unknown as { value: unknown }).value);
}

/** Splits a value into text and `$(type:argument)` tokens (type case-insensitive). */
export function parseTokens(value: string, fail: (what: string) => never): ConfigToken[] {
  const tokens: ConfigToken[] = [];
  let rest = value;
  for (;;) {
    const start = rest.indexOf("$(");
    if (start < 0) break;
    const end = rest.indexOf(")", start);
    if (end < 0) fail(`unclosed token in ${JSON.stringify(value)}`);
    if (start > 0) tokens.push({ kind: "text", text: rest.slice(0, start) });
    tokens.push(token(rest.slice(start + 2, end), fail));
    rest = rest.slice(end + 1);
  }
  if (rest) tokens.push({ kind: "text", text: rest });
  return tokens;
}

function token(body: string, fail: (what: string) => never): ConfigToken {
  const colon = body.indexOf(":");
  const type = body.slice(0, colon).trim().toLowerCase();
  const argument = body.slice(colon + 1).trim();
  if (colon < 0 || !argument) fail(`$(${body}) is not a token: expected $(services:NAME), $(volumeMounts:NAME) or $(externalEndpoints:HOST:PORT)`);
  if (type === "services") {
    const name = argument.split(":")[0] as string;
    const parts = name.split(".");
    if (parts.length > 2 || parts.some((p) => !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p))) fail(`$(services:${argument}) must name a service as NAME or NAME.NAMESPACE`);
    return { kind: "service", name: parts[0] as string, ...(parts[1] ? { namespace: parts[1] } : {}) };
  }
  if (type === "volumemounts") return { kind: "volume", name: argument };
  if (type === "externalendpoints") {
    const match = /^([A-Za-z0-9.-]+):(\d+(?:,\d+)*)$/.exec(argument);
    if (!match) fail(`$(externalEndpoints:${argument}) needs HOST:PORT[,PORT…]`);
    return { kind: "external", host: (match as RegExpExecArray)[1] as string, ports: ((match as RegExpExecArray)[2] as string).split(",").map(Number) };
  }
  return fail(`unknown token type "${body.slice(0, colon)}" (services, volumeMounts or externalEndpoints)`);
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/**
 * `default-token-*` style names: `*` matches anything. Greedy with one backtrack point (the
 * last `*`), so the time grows with the lengths' product at worst, never exponentially: a
 * name of forty stars from a cloned repository costs microseconds.
 */
export function matchesVolumeName(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      resume = n;
    } else if (p < pattern.length && pattern[p] === name[n]) {
      p++;
      n++;
    } else if (star >= 0) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}

/** What a config file will do, in words (the profile form's preview): each variable's value, where volumes go. */
export function previewLocalProcessConfig(file: string): ConfigPreviewView {
  const config = readLocalProcessConfig(file);
  const describe = (token: ConfigToken) => {
    switch (token.kind) {
      case "text":
        return token.text;
      case "service":
        return `‹service ${token.name}${token.namespace ? `.${token.namespace}` : ""}, as reached from this workstation›`;
      case "volume":
        return `‹local folder of volume ${token.name}›`;
      case "external":
        return `‹${token.host} (ports ${token.ports.join(", ")}) reached through the pod›`;
    }
  };
  return {
    file,
    env: config.env.map((entry) => ({ name: entry.name, line: entry.line, value: entry.tokens.map(describe).join("") })),
    volumes: config.volumeMounts.map((v) => ({ name: v.name, line: v.line, ...(v.localPath ? { localPath: v.localPath } : {}) })),
    features: [...(config.features.probes ? ["Probes"] : []), ...(config.features.lifecycleHooks ? ["LifecycleHooks"] : [])],
    warnings: config.warnings,
  };
}
