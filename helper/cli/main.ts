/** The `kbridge` command: a client of the helper, like the dashboard. */
import fs from "node:fs";
import { parseArgs } from "node:util";
import { envFormats, formatEnvironment, type EnvFormat } from "../environment/formatEnv.ts";
import { KbridgeError, type ErrorInfo, type SessionView } from "../protocol/index.ts";
import { sendCommand } from "../client/helperSocket.ts";
import { writeFileAtomic } from "../shared/safeFiles.ts";
import { connectToHelper } from "./helperConnection.ts";
import { connectCommand } from "./connectCommand.ts";
import { checkCommand, setupCommand } from "./clusterCommands.ts";
import { runHelper, stopOnSignalsAndParentExit, tuneHeapForRelaying } from "../server/runHelper.ts";

const USAGE = `kbridge — connect a workstation process to a Kubernetes cluster

Usage:
  kbridge connect --context C --namespace N (--service S | --deployment D | --pod P)
                  --local-port [PORT:]WORKSTATION_PORT [--local-port …] [--container X]
                  [--agent-image IMAGE] [--keep-probes] [--keep-lifecycle-hooks]
                  [--no-hosts] [--config FILE] [--isolate [--routing-key K]]
                  [-- COMMAND ARGS…]
                              Redirect the target's traffic to this workstation until Ctrl-C,
                              then restore the cluster. The namespace's services are mapped
                              onto this workstation (hosts file, or 127.0.0.1 ports with
                              --no-hosts or without the rights). COMMAND runs here with the
                              pod's environment, its output shown, stopped at the end.
                              ./KubernetesLocalProcessConfig.yaml (or --config FILE) is
                              applied as Bridge to Kubernetes did. With --isolate, only
                              requests carrying your routing key (header kubernetes-route-as:
                              K, or your personal URL K.<ingress host>) come here; everyone
                              else keeps the cluster's pods (K default: <user>-<4 hex>). The
                              agent runs node:22-alpine unless --agent-image names another
                              image with Node.js ≥ 18.
  kbridge status [--json]     Is the helper running? Version, boot id, kubeconfig, sessions.
  kbridge disconnect [--session ID]
                              End the helper's sessions (or one) and restore the cluster.
  kbridge env [--session ID] [--format dotenv|json|sh] [--output FILE]
                              The environment a connected session gives the workstation
                              process (the pod's variables, secrets included, and the service
                              variables); FILE is written owner-only (0600).
  kbridge restart [--session ID]
                              Stop and start the workstation process of a connected session
                              (the one started with connect -- COMMAND) with a fresh environment.
  kbridge resume [--session ID]
                              Take over the sessions a stopped helper left in the cluster
                              (state "interrupted" in kbridge status): tunnels open again.
  kbridge check --context C --namespace N (--service S | --deployment D | --pod P)
                  [--container X] [--isolate] [--agent-image IMAGE] [--json]
                              Connect's preflight, changing nothing: the rights each step
                              needs, the restorer's identity, dry runs of the pods kbridge
                              would create and of the workload's own (Pod Security, quotas,
                              LimitRanges, webhooks), GitOps self-heal. Exit 1 if one fails.
  kbridge setup --context C --namespace N [--remove] | --namespace N --print
                              Once per namespace, by someone who may create Roles: the
                              restorer's and routers' identities, so that developers with only
                              the edit role can connect. --print writes it as YAML instead.
  kbridge clean --context C --namespace N
                              Restore and remove everything kbridge left in a namespace
                              (sessions of a helper that crashed).
  kbridge contexts [--json]   The contexts of your kubeconfig (KUBECONFIG or ~/.kube/config).
  kbridge helper              Run the helper in the foreground (npm start runs it for you).
  kbridge --help              This text.

Environment:
  KBRIDGE_HOME          kbridge home (default ~/.kbridge): token, database, logs
  KBRIDGE_HELPER_PORT   helper port on 127.0.0.1 (default 4301)
  KBRIDGE_PORT          dashboard port on 127.0.0.1 (default 4300)
`;

type Print = (text: string) => void;

const OPTIONS = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  context: { type: "string" },
  namespace: { type: "string", short: "n" },
  service: { type: "string" },
  deployment: { type: "string" },
  pod: { type: "string" },
  container: { type: "string" },
  "local-port": { type: "string", multiple: true },
  "agent-image": { type: "string" },
  "keep-probes": { type: "boolean" },
  "keep-lifecycle-hooks": { type: "boolean" },
  format: { type: "string" },
  "no-hosts": { type: "boolean" },
  config: { type: "string" },
  isolate: { type: "boolean" },
  "routing-key": { type: "string" },
  output: { type: "string", short: "o" },
  session: { type: "string" },
  remove: { type: "boolean" },
  print: { type: "boolean" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

export async function main(argv: string[], out: Print = (t) => process.stdout.write(t), err: Print = (t) => process.stderr.write(t)): Promise<number> {
  // `kbridge connect … -- npm run dev`: what follows `--` is the workstation process.
  const split = argv.indexOf("--");
  const launchArgs = split >= 0 ? argv.slice(split + 1) : [];
  let parsed;
  try {
    parsed = parseArgs({ args: split >= 0 ? argv.slice(0, split) : argv, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    err(`kbridge: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  const json = parsed.values.json === true;
  if (parsed.values.help || command === undefined || command === "help") {
    out(USAGE);
    return 0;
  }
  if (rest.length > 0) {
    err(`kbridge ${command}: unexpected argument '${rest[0]}'\n`);
    return 2;
  }
  try {
    return await run(command, parsed.values, launchArgs, out, err);
  } catch (error) {
    if (error instanceof KbridgeError) return report(error.info, json, out, err);
    throw error;
  }
}

/** Runs one command with its options; its exit code. */
async function run(command: string, values: Values, launchArgs: string[], out: Print, err: Print): Promise<number> {
  const json = values.json === true;
  switch (command) {
    case "status":
      return status(json, out);
    case "contexts":
      return contexts(json, out, err);
    case "helper":
      return helper(out);
    case "disconnect":
      return disconnect(values.session, json, out, err);
    case "env":
      return environment(values.session, values.format ?? "dotenv", values.output, out, err);
    case "restart":
      return restartProcess(values.session, out, err);
    case "resume":
      return resumeSessions(values.session, json, out, err);
    case "clean":
      return clean(values.context, values.namespace, json, out, err);
    case "check":
      return checkCommand({ ...values, agentImage: values["agent-image"], json }, out, err, (error) => report(error, json, out, err));
    case "setup":
      return setupCommand(values, out, err);
    case "connect":
      return connectCommand(
        {
          context: values.context,
          namespace: values.namespace,
          service: values.service,
          deployment: values.deployment,
          pod: values.pod,
          container: values.container,
          localPorts: values["local-port"] ?? [],
          agentImage: values["agent-image"],
          keepProbes: values["keep-probes"],
          keepLifecycleHooks: values["keep-lifecycle-hooks"],
          launch: launchArgs,
          noHosts: values["no-hosts"],
          config: values.config,
          isolate: values.isolate,
          routingKey: values["routing-key"],
        },
        out,
        err,
      );
    default:
      err(`kbridge: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

async function status(json: boolean, out: Print): Promise<number> {
  const connection = await connectToHelper();
  const listed = await sendCommand(connection.socket, "session:list", {});
  connection.socket.close();
  const { status } = connection;
  const sessions = listed.ok ? listed.data : [];
  if (json) out(JSON.stringify({ running: true, url: connection.url, ...status, sessions }, null, 2) + "\n");
  else {
    out(`helper: running on ${connection.url} (pid ${status.pid}, version ${status.version}, boot ${status.bootId})\nkubeconfig: ${status.kubeconfig.join(", ")}\n`);
    if (sessions.length === 0) out("sessions: none\n");
    for (const s of sessions) {
      out(`session ${s.id}: ${s.state}${s.outcome ? ` (${s.outcome})` : ""}, ${s.target.kind}/${s.target.name} in ${s.target.namespace} (context ${s.target.context}), since ${s.startedAt}\n`);
      if (s.note) out(`  ${s.note}\n`);
      for (const problem of s.problems ?? []) out(`  problem: ${problem.message} (for ${Math.max(0, Math.round((Date.now() - Date.parse(problem.since)) / 1000))} s)\n`);
      if (s.error) out(`  ${s.error.message}${s.error.hint ? ` ${s.error.hint}` : ""}\n`);
      if (s.state === "interrupted") out(`  resume: kbridge resume --session ${s.id}   restore: kbridge disconnect --session ${s.id}\n`);
    }
  }
  return 0;
}

async function contexts(json: boolean, out: Print, err: Print): Promise<number> {
  const connection = await connectToHelper();
  try {
    const result = await sendCommand(connection.socket, "kube:listContexts", {});
    if (!result.ok) return report(result.error, json, out, err);
    if (json) out(JSON.stringify(result.data, null, 2) + "\n");
    else
      for (const context of result.data.contexts) {
        const mark = context.name === result.data.currentContext ? "*" : " ";
        out(`${mark} ${context.name}\t${context.server ?? "(no server)"}\t${context.namespace ?? "default"}\n`);
      }
    return 0;
  } finally {
    connection.socket.close();
  }
}

async function disconnect(only: string | undefined, json: boolean, out: Print, err: Print): Promise<number> {
  const connection = await connectToHelper();
  try {
    const listed = await sendCommand(connection.socket, "session:list", {});
    if (!listed.ok) return report(listed.error, json, out, err);
    const live = listed.data.filter((s) => s.state !== "ended" && s.state !== "failed" && (only === undefined || s.id === only));
    if (only !== undefined && live.length === 0) return report({ code: "session-not-found", category: "user", message: `No live session ${only} in this helper.`, hint: "See `kbridge status`." }, json, out, err);
    const ended = [];
    for (const session of live) {
      const result = await sendCommand(connection.socket, "session:stop", { sessionId: session.id });
      if (!result.ok) return report(result.error, json, out, err);
      ended.push(result.data);
      if (!json) out(`Session ${session.id} ended; ${session.target.kind}/${session.target.name} in ${session.target.namespace} restored.\n`);
    }
    if (json) out(JSON.stringify({ ended }, null, 2) + "\n");
    else if (ended.length === 0) out("No live sessions.\n");
    return 0;
  } finally {
    connection.socket.close();
  }
}

async function environment(only: string | undefined, format: string, output: string | undefined, out: Print, err: Print): Promise<number> {
  if (!envFormats.includes(format as EnvFormat)) {
    err(`kbridge env: --format must be one of ${envFormats.join(", ")} (got "${format}")\n`);
    return 2;
  }
  const connection = await connectToHelper();
  try {
    const listed = await sendCommand(connection.socket, "session:list", {});
    if (!listed.ok) return report(listed.error, false, out, err);
    const connected = listed.data.filter((s) => s.state === "connected" && (only === undefined || s.id === only));
    if (connected.length !== 1) {
      const message = connected.length === 0 ? (only ? `Session ${only} is not connected in this helper.` : "No session is connected.") : `${connected.length} sessions are connected: ${connected.map((s) => `${s.id} (${s.target.kind}/${s.target.name})`).join(", ")}.`;
      return report({ code: "session-not-found", category: "user", message, hint: connected.length === 0 ? "Connect first (kbridge connect), then ask again." : "Choose one with --session ID." }, false, out, err);
    }
    const result = await sendCommand(connection.socket, "session:env", { sessionId: (connected[0] as SessionView).id });
    if (!result.ok) return report(result.error, false, out, err);
    const text = formatEnvironment(result.data, format as EnvFormat);
    if (!output) {
      out(text);
      return 0;
    }
    // It holds secrets: never through a link (a repository's `.env → elsewhere`), owner-only from its first byte.
    const existing = fs.lstatSync(output, { throwIfNoEntry: false });
    if (existing?.isSymbolicLink() || (existing && !existing.isFile())) {
      const what = existing.isSymbolicLink() ? `a symbolic link (to ${fs.readlinkSync(output)})` : "not a regular file";
      return report({ code: "unsafe-output", category: "user", message: `${output} is ${what}; kbridge writes the environment, which holds secrets, only to a regular file.`, hint: "Remove it, or choose another --output file." }, false, out, err);
    }
    writeFileAtomic(output, text, 0o600);
    out(`Wrote ${result.data.length} variables to ${output} (owner-only: it holds secrets).\n`);
    return 0;
  } finally {
    connection.socket.close();
  }
}

async function restartProcess(only: string | undefined, out: Print, err: Print): Promise<number> {
  const connection = await connectToHelper();
  try {
    const listed = await sendCommand(connection.socket, "session:list", {});
    if (!listed.ok) return report(listed.error, false, out, err);
    const running = listed.data.filter((s) => s.state === "connected" && s.process && (only === undefined || s.id === only));
    if (running.length !== 1) {
      const message = running.length === 0 ? "No connected session runs a workstation process." : `${running.length} sessions run a process: ${running.map((s) => s.id).join(", ")}.`;
      return report({ code: "session-not-found", category: "user", message, hint: running.length === 0 ? "Start one with kbridge connect … -- COMMAND." : "Choose one with --session ID." }, false, out, err);
    }
    const result = await sendCommand(connection.socket, "session:restartProcess", { sessionId: (running[0] as SessionView).id }, 30_000);
    if (!result.ok) return report(result.error, false, out, err);
    out(`Restarted ${result.data.process?.command ?? "the process"}.\n`);
    return 0;
  } finally {
    connection.socket.close();
  }
}

async function resumeSessions(only: string | undefined, json: boolean, out: Print, err: Print): Promise<number> {
  const connection = await connectToHelper();
  try {
    const listed = await sendCommand(connection.socket, "session:list", {});
    if (!listed.ok) return report(listed.error, json, out, err);
    const interrupted = listed.data.filter((s) => s.state === "interrupted" && (only === undefined || s.id === only));
    if (interrupted.length === 0) return report({ code: "session-not-found", category: "user", message: only ? `No interrupted session ${only} in this helper.` : "No interrupted sessions to resume.", hint: "See `kbridge status`." }, json, out, err);
    const results: SessionView[] = [];
    for (const session of interrupted) {
      // Follow the session until it is connected again, or not.
      const settled = new Promise<SessionView>((resolve) => {
        const onUpdate = (view: SessionView) => {
          if (view.id !== session.id || !["connected", "failed", "ended", "interrupted"].includes(view.state)) return;
          connection.socket.off("session:updated", onUpdate);
          resolve(view);
        };
        connection.socket.on("session:updated", onUpdate);
      });
      const started = await sendCommand(connection.socket, "session:resume", { sessionId: session.id });
      if (!started.ok) return report(started.error, json, out, err);
      const view = await settled;
      results.push(view);
      if (json) continue;
      if (view.state === "connected") out(`Session ${view.id} resumed: ${view.target.kind}/${view.target.name} in ${view.target.namespace} reaches this workstation again. End it with kbridge disconnect.\n`);
      else err(`kbridge: session ${view.id} could not be resumed: ${view.error?.message ?? view.note ?? view.state}\n${view.error?.hint ? `  ${view.error.hint}\n` : ""}`);
    }
    if (json) out(JSON.stringify({ sessions: results }, null, 2) + "\n");
    return results.every((view) => view.state === "connected") ? 0 : 1;
  } finally {
    connection.socket.close();
  }
}

async function clean(context: string | undefined, namespace: string | undefined, json: boolean, out: Print, err: Print): Promise<number> {
  if (!context || !namespace) {
    err("kbridge clean: --context and --namespace are required\n");
    return 2;
  }
  const connection = await connectToHelper();
  try {
    const result = await sendCommand(connection.socket, "cluster:clean", { kubeContext: context, namespace });
    if (!result.ok) return report(result.error, json, out, err);
    const { sessions, restored, orphaned, unlisted } = result.data;
    if (json) out(JSON.stringify(result.data, null, 2) + "\n");
    else if (sessions.length === 0 && orphaned.length === 0) out(`Nothing of kbridge in namespace ${namespace}.\n`);
    else if (sessions.length > 0) out(`Removed ${sessions.length} session(s) from ${namespace}${restored.length ? `; restored ${restored.join(", ")}` : ""}.\n`);
    // What no saved original can put back: said, with what to do, and the command fails.
    for (const orphan of orphaned) err(`kbridge: ${orphan.message}\n${orphan.hint ? `  ${orphan.hint}\n` : ""}`);
    if (unlisted && !json) out(`Not checked: ${unlisted.join(", ")} objects (you may not list them in ${namespace}); someone who may can run kbridge clean for those.\n`);
    return orphaned.length > 0 ? 1 : 0;
  } finally {
    connection.socket.close();
  }
}

async function helper(out: Print): Promise<number> {
  tuneHeapForRelaying();
  const server = await runHelper();
  stopOnSignalsAndParentExit(server);
  out(`kbridge helper listening on ${server.url} (Ctrl-C to stop)\n`);
  await new Promise<never>(() => {});
  return 0;
}

/** Errors print what failed and what to do; `--json` prints them as JSON on stdout too. */
function report(error: ErrorInfo, json: boolean, out: Print, err: Print): number {
  if (json) out(JSON.stringify({ ok: false, error }, null, 2) + "\n");
  err(`kbridge: ${error.message}\n${error.hint ? `  ${error.hint}\n` : ""}`);
  return error.code === "helper-not-running" ? 3 : 1;
}
