import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { matchesVolumeName, parseLocalProcessConfig, previewLocalProcessConfig } from "./localProcessConfig.ts";

const FILE = "/work/app/KubernetesLocalProcessConfig.yaml";
const parse = (text: string) => parseLocalProcessConfig(text, FILE);
const failure = (text: string) => {
  try {
    parse(text);
  } catch (error) {
    return (error as { info: { code: string; message: string } }).info;
  }
  throw new Error("parsed");
};

describe("KubernetesLocalProcessConfig.yaml", () => {
  test("every construct of Bridge to Kubernetes' example", () => {
    const config = parse(`version: 0.1
enableFeatures:
  - Probes
  - ManagedIdentity
volumeMounts:
  - name: default-token-*
    localPath: secrets/serviceaccount
  - name: allow-list
env:
  - name: KUBERNETES_IN_CLUSTER_CONFIG_OVERRIDE
    value: $(volumeMounts:default-token-*)
  - name: ALLOW_LIST_PATH
    value: $(volumeMounts:allow-list)/allow-list
  - name: MYAPP1_URL
    value: http://$(Services:myapp1)/api/v1/
  - name: KAFKA
    value: $(services:kafka-headless.kafka)
  - name: DB_HOST
    value: $(externalEndpoints:server-x.database.windows.net:1433)
  - name: DEBUG_MODE
    value: "true"
  - name: EMPTY
`);
    expect(config.features).toEqual({ probes: true, lifecycleHooks: false });
    expect(config.warnings).toEqual(["line 4: ManagedIdentity is not supported by kbridge; ignored"]);
    expect(config.volumeMounts).toEqual([
      { name: "default-token-*", localPath: "secrets/serviceaccount", line: 6 },
      { name: "allow-list", line: 8 },
    ]);
    expect(Object.fromEntries(config.env.map((e) => [e.name, e.tokens]))).toEqual({
      KUBERNETES_IN_CLUSTER_CONFIG_OVERRIDE: [{ kind: "volume", name: "default-token-*" }],
      ALLOW_LIST_PATH: [{ kind: "volume", name: "allow-list" }, { kind: "text", text: "/allow-list" }],
      MYAPP1_URL: [{ kind: "text", text: "http://" }, { kind: "service", name: "myapp1" }, { kind: "text", text: "/api/v1/" }],
      KAFKA: [{ kind: "service", name: "kafka-headless", namespace: "kafka" }],
      DB_HOST: [{ kind: "external", host: "server-x.database.windows.net", ports: [1433] }],
      DEBUG_MODE: [{ kind: "text", text: "true" }],
      EMPTY: [],
    });
    expect(config.env.find((e) => e.name === "KAFKA")?.line).toBe(16);
  });

  test("errors name the file, the line and what is wrong", () => {
    expect(failure("version: 0.1\nenv:\n  - name: A\n    value: [1, 2\n")).toMatchObject({ code: "config-file-invalid", message: expect.stringMatching(/^\/work\/app\/KubernetesLocalProcessConfig\.yaml line \d+: /) });
    expect(failure("env: []\n").message).toBe(`${FILE} line 1: version is required (version: 0.1)`);
    expect(failure("version: 0.2\n").message).toBe(`${FILE} line 1: version 0.2 is newer than the 0.1 kbridge reads`);
    expect(failure("version: 0.1\nenv:\n  - name: A\n    value: ok\n  - name: B\n    value: $(service:x)\n").message).toBe(
      `${FILE} line 5: B: unknown token type "service" (services, volumeMounts or externalEndpoints)`,
    );
    expect(failure("version: 0.1\nenv:\n  - name: C\n    value: $(services:a.b.c)\n").message).toBe(`${FILE} line 3: C: $(services:a.b.c) must name a service as NAME or NAME.NAMESPACE`);
    expect(failure("version: 0.1\nenv:\n  - name: D\n    value: $(externalEndpoints:db.example.com)\n").message).toBe(`${FILE} line 3: D: $(externalEndpoints:db.example.com) needs HOST:PORT[,PORT…]`);
    expect(failure("version: 0.1\nenv:\n  - value: x\n").message).toBe(`${FILE} line 3: missing name`);
    // Where the cluster's files go is the project's folder: a repository's file cannot send them elsewhere.
    for (const outside of ["/var/run/secrets/kubernetes.io/serviceaccount", "/etc/x", "../../x", "/work/application"]) {
      expect(failure(`version: 0.1\nvolumeMounts:\n  - name: v\n    localPath: ${outside}\n`).message).toBe(
        `${FILE} line 3: localPath ${outside} of volume v is outside the project folder (/work/app): kbridge writes the cluster's files only inside the project, or without a localPath in its own volumes folder. Use a path inside the project (such as ./volumes/v) or leave localPath out`,
      );
    }
    expect(parse("version: 0.1\nvolumeMounts:\n  - name: v\n    localPath: /work/app/volumes/v\n").volumeMounts[0]?.localPath).toBe("/work/app/volumes/v");
    expect(failure("version: 0.1\nservices: []\n").message).toBe(`${FILE} line 2: unknown key "services"; the keys are version, env, volumeMounts and enableFeatures`);
    expect(failure("version: 0.1\nenv:\n  - name: E\n    value: $(services:x\n").message).toBe(`${FILE} line 3: E: unclosed token in "$(services:x"`);
  });

  test("volume names match with wildcards", () => {
    expect(matchesVolumeName("default-token-*", "default-token-x7k2")).toBe(true);
    expect(matchesVolumeName("config", "config-2")).toBe(false);
    expect(matchesVolumeName("*", "anything")).toBe(true);
  });
});

test("the preview says what each variable will be and where volumes go; a broken file fails naming the line", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kbridge-config-preview-"));
  const file = path.join(dir, "KubernetesLocalProcessConfig.yaml");
  fs.writeFileSync(file, "version: 0.1\nenableFeatures: [Probes]\nvolumeMounts:\n  - name: settings\n    localPath: ./settings\nenv:\n  - name: STORE_URL\n    value: http://$(services:store)/api\n  - name: DB\n    value: $(externalEndpoints:db.example.com:5432)\n  - name: SETTINGS\n    value: $(volumeMounts:settings)/app.json\n");
  expect(previewLocalProcessConfig(file)).toEqual({
    file,
    env: [
      { name: "STORE_URL", line: 7, value: "http://‹service store, as reached from this workstation›/api" },
      { name: "DB", line: 9, value: "‹db.example.com (ports 5432) reached through the pod›" },
      { name: "SETTINGS", line: 11, value: "‹local folder of volume settings›/app.json" },
    ],
    volumes: [{ name: "settings", line: 4, localPath: "./settings" }],
    features: ["Probes"],
    warnings: [],
  });
  fs.writeFileSync(file, "version: 0.1\nenv:\n  - name: X\n    value: $(services:)\n");
  expect(() => previewLocalProcessConfig(file)).toThrow(/KubernetesLocalProcessConfig\.yaml line 3: X: \$\(services:\) is not a token/);
  fs.rmSync(dir, { recursive: true, force: true });
});
