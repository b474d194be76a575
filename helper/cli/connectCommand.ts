/**
 * `kbridge connect`: starts a session in the helper (starting a helper in the background
 * when none runs), prints its steps as they complete, and on Ctrl-C / SIGTERM stops it and
 * exits once the cluster is restored.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { CONFIG_FILE_NAME } from "../environment/localProcessConfig.ts";
import { fileURLToPath } from "node:url";
import { KbridgeError, type LogLineView, type SessionStart, type SessionView } from "../protocol/index.ts";
import { sendCommand } from "../client/helperSocket.ts";
import { connectToHelper, type CliConnection } from "./helperConnection.ts";
import { sessionPrinter } from "./sessionPrinter.ts";

/** What every target-naming command takes: where, and one of --service, --deployment, --pod. */
export interface TargetArgs {
  context?: string;
  namespace?: string;
  service?: string;
  deployment?: string;
  pod?: string;
  container?: string;
}

/** The targets named (a valid command names exactly one). */
export function targetsOf(args: TargetArgs): [SessionStart["targetKind"], string][] {
  return [["service", args.service], ["deployment", args.deployment], ["pod", args.pod]].filter(([, v]) => v) as [SessionStart["targetKind"], string][];
}

export interface ConnectArgs extends TargetArgs {
  localPorts: string[];
  agentImage?: string;
  keepProbes?: boolean;
  keepLifecycleHooks?: boolean;
  /** The workstation process: program and arguments (run through the shell, quoted). */
  launch?: string[];
  noHosts?: boolean;
  /** A KubernetesLocalProcessConfig.yaml; default: the one in the current directory, if any. */
  config?: string;
  /** Where the process runs (default: the current directory). */
  cwd?: string;
  /** Isolation: only requests with the routing key come to this workstation. */
  isolate?: boolean;
  routingKey?: string;
}

type Print = (text: string) => void;

export function parseConnectArgs(args: ConnectArgs): SessionStart {
  const targets = targetsOf(args);
  const missing = [!args.context && "--context", !args.namespace && "--namespace", targets.length === 0 && "--service, --deployment or --pod", args.localPorts.length === 0 && "--local-port"].filter(Boolean);
  if (missing.length > 0) throw usage(`missing ${missing.join(", ")}`);
  if (targets.length > 1) throw usage("give only one of --service, --deployment, --pod");
  if (args.routingKey !== undefined && !args.isolate) throw usage("--routing-key goes with --isolate");
  const ports = args.localPorts.map((text) => {
    const match = /^(?:(\d+):)?(\d+)$/.exec(text);
    if (!match) throw usage(`--local-port ${text}: expected WORKSTATION_PORT or PORT:WORKSTATION_PORT`);
    return { ...(match[1] ? { port: Number(match[1]) } : {}), workstationPort: Number(match[2]) };
  });
  const [[targetKind, targetName]] = targets as [[SessionStart["targetKind"], string]];
  return {
    kubeContext: args.context as string,
    namespace: args.namespace as string,
    targetKind,
    targetName,
    container: args.container ?? "",
    ports,
    agentImage: args.agentImage ?? "",
    keepProbes: args.keepProbes ?? false,
    keepLifecycleHooks: args.keepLifecycleHooks ?? false,
    privilegeMode: args.noHosts ? "unprivileged" : "auto",
    ...configFileOf(args),
    ...(args.isolate ? { isolate: { routingKey: args.routingKey ?? "" } } : {}),
    ...(args.launch && args.launch.length > 0 ? { launch: { command: args.launch.map(shellWord).join(" "), cwd: args.cwd ?? process.cwd() } } : {}),
  };
}

function configFileOf(args: ConnectArgs): { configFile?: string } {
  if (args.config) return { configFile: path.resolve(args.config) };
  const here = path.join(args.cwd ?? process.cwd(), CONFIG_FILE_NAME);
  return fs.existsSync(here) ? { configFile: here } : {};
}

/** A word the shell reads back as itself. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function usage(message: string): KbridgeError {
  return new KbridgeError({ code: "usage", category: "user", message: `kbridge connect: ${message}.`, hint: "Usage: kbridge connect --context C --namespace N --service S --local-port [PORT:]WORKSTATION_PORT …" });
}

/** Connects to the helper, starting one in the background (logging to the kbridge home) when none runs. */
async function helperConnection(out: Print): Promise<CliConnection> {
  try {
    return await connectToHelper();
  } catch (error) {
    if (!(error instanceof KbridgeError) || error.info.code !== "helper-not-running") throw error;
  }
  out("Starting the kbridge helper in the background…\n");
  const bin = fileURLToPath(new URL("../../bin/kbridge.js", import.meta.url));
  spawn(process.execPath, [bin, "helper"], { detached: true, stdio: "ignore" }).unref();
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await connectToHelper();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}

export async function connectCommand(args: ConnectArgs, out: Print, err: Print, signals: NodeJS.EventEmitter = process): Promise<number> {
  const input = parseConnectArgs(args);
  const { socket } = await helperConnection(out);
  // Known once the helper answers session:start; updates for other sessions are ignored.
  const ours: { id?: string } = {};
  let stopping = false;
  let settle: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (settle = resolve));

  const printer = sessionPrinter(input, out, err);
  const show = (view: SessionView) => {
    const end = printer.show(view);
    // While stopping, the stop's own answer says how it went.
    if (!end || stopping) return;
    if (end === "ended") {
      out(
        view.outcome === "restored-by-cluster"
          ? `The session's objects left the cluster (${view.note ?? "its restorer ran, or someone cleaned the namespace"}); the cluster is restored.\n`
          : "The session was ended elsewhere (kbridge disconnect or the dashboard); the cluster is restored.\n",
      );
    } else err(`kbridge: ${view.error?.message ?? "the connect failed"}\n${view.error?.hint ? `  ${view.error.hint}\n` : ""}`);
    settle(end === "ended" ? 0 : 1);
  };
  socket.on("session:updated", (view) => {
    if (view.id === ours.id) show(view);
  });
  // The workstation process's output, as if it ran here directly (each line once, by seq).
  let printedSeq = 0;
  const printProcessLines = (lines: LogLineView[]) => {
    for (const line of lines) {
      if (line.seq <= printedSeq) continue;
      printedSeq = line.seq;
      if (line.source === "process") (line.level === "warn" ? err : out)(`${line.text}\n`);
    }
  };
  socket.on("session:logged", ({ sessionId, lines }) => {
    if (sessionId === ours.id) printProcessLines(lines);
  });
  // Only a helper that went away is news: not this command closing its own connection at the end.
  socket.on("disconnect", (reason) => {
    if (reason !== "io client disconnect") err("kbridge: lost the helper; the cluster restores itself if it does not come back.\n");
  });

  const started = await sendCommand(socket, "session:start", input);
  if (!started.ok) {
    socket.close();
    throw new KbridgeError(started.error);
  }
  const sessionId = started.data.id;
  ours.id = sessionId;
  out(`Session ${sessionId}: connecting ${input.targetKind}/${input.targetName} in ${input.namespace} (context ${input.kubeContext})…\n`);
  // Asking for its log joins the session's room: its new lines come from now on.
  const logged = await sendCommand(socket, "session:logs", { sessionId, after: 0 });
  if (logged.ok) printProcessLines(logged.data.lines);
  // Updates sent before the answer above were not ours yet: catch up once.
  const now = await sendCommand(socket, "session:list", {});
  const current = now.ok ? now.data.find((view) => view.id === sessionId) : undefined;
  if (current) show(current);

  const stop = () => {
    if (stopping) return;
    stopping = true;
    out("Disconnecting and restoring the cluster…\n");
    void sendCommand(socket, "session:stop", { sessionId }).then((result) => {
      if (result.ok) out(`Restored ${input.targetKind}/${input.targetName}.\n`);
      else err(`kbridge: ${result.error.message}\n`);
      settle(result.ok ? 0 : 1);
    });
  };
  signals.on("SIGINT", stop);
  signals.on("SIGTERM", stop);
  const code = await finished;
  signals.off("SIGINT", stop);
  signals.off("SIGTERM", stop);
  socket.close();
  return code;
}
