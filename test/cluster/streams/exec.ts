/**
 * `pods/{name}/exec` over the WebSocket channel protocol (v5, or v4): stdin on channel 0
 * (v5 CLOSE `[255, 0]` ends it), stdout 1, stderr 2, the exit Status on 3, then close 1000.
 * The command runs in the container's mount namespace with the container's environment.
 */
import { spawn } from "node:child_process";
import type { WebSocket } from "ws";

export interface ExecTarget {
  /** The container's main process (its mount namespace is entered when possible). */
  pid?: number;
  env: Record<string, string>;
  enterNamespace: boolean;
}

export interface ExecRequest {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export function runExec(ws: WebSocket, protocol: string, target: ExecTarget, request: ExecRequest): void {
  const [first, ...rest] = request.command;
  const program = first === "node" || first === "nodejs" ? process.execPath : (first as string);
  const [command, args] = target.enterNamespace && target.pid ? ["nsenter", ["--target", String(target.pid), "--mount", "--", program, ...rest]] : [program, rest];
  const send = (channel: number, data: Buffer = Buffer.alloc(0)) => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), data]));
  };
  // The lowest writable channel gets an empty message first, as the kubelet does.
  send(request.stdout ? 1 : request.stderr ? 2 : 3);
  const child = spawn(command as string, args as string[], {
    cwd: "/",
    env: target.env as unknown as NodeJS.ProcessEnv, // Next.js types make NODE_ENV mandatory
    stdio: [request.stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => request.stdout && send(1, chunk));
  child.stderr?.on("data", (chunk: Buffer) => request.stderr && send(2, chunk));
  ws.on("message", (message: Buffer) => {
    const channel = message[0];
    if (channel === 0 && message.length > 1) child.stdin?.write(message.subarray(1));
    else if (channel === 255 && message[1] === 0) child.stdin?.end();
  });
  ws.on("close", () => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  let spawnError: Error | undefined;
  child.on("error", (error) => (spawnError = error));
  child.on("close", (code, signal) => {
    const status =
      spawnError !== undefined
        ? { metadata: {}, status: "Failure", message: `failed to exec in container: ${spawnError.message}`, reason: "InternalError", code: 500 }
        : code === 0
          ? { metadata: {}, status: "Success" }
          : {
              metadata: {},
              status: "Failure",
              message: `command terminated with non-zero exit code: error executing command [${request.command.join(" ")}], exit code ${code ?? 128 + (signal ? 9 : 0)}`,
              reason: "NonZeroExitCode",
              details: { causes: [{ reason: "ExitCode", message: String(code ?? 137) }] },
            };
    send(3, Buffer.from(protocol === "channel.k8s.io" ? (status.message ?? "") : JSON.stringify(status)));
    ws.close(1000);
  });
}
