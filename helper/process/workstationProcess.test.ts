import { expect, test } from "vitest";
import { tempDir } from "../../test/support/tempDir.ts";
import { isAlive as alive } from "../../test/support/kbridgeProcess.ts";
import { until } from "../../test/support/until.ts";
import fs from "node:fs";
import path from "node:path";
import { checkLaunch, plainCommand, runsCommand, WorkstationProcess, type ProcessExit, type ProcessLine } from "./workstationProcess.ts";

test("runs the command in its folder with the given environment, line by line, and reports its exit code", async () => {
  const cwd = tempDir("process");
  const lines: ProcessLine[] = [];
  const exits: ProcessExit[] = [];
  const child = new WorkstationProcess({ command: `printf 'a\\nb' && echo "$GREETING from $(pwd)" >&2 && exit 3`, cwd, env: { GREETING: "hi there" }, onLine: (l) => lines.push(l), onExit: (e) => exits.push(e) });
  child.start();
  await until(() => exits.length === 1, "the exit");
  expect(lines.filter((l) => l.stream === "stdout").map((l) => l.text)).toEqual(["a", "b"]);
  expect(lines.find((l) => l.stream === "stderr")?.text).toBe(`hi there from ${cwd}`);
  expect(exits[0]).toEqual({ code: 3, signal: null, stopped: false });
});

test("stop ends the whole process group (what the command started too); restart starts it again", async () => {
  const pids: number[] = [];
  const exits: ProcessExit[] = [];
  const lines: string[] = [];
  // The shell starts a grandchild that prints its pid and would outlive a plain kill of the shell.
  const child = new WorkstationProcess({ command: "sh -c 'echo child $$; sleep 60' & wait", cwd: tempDir("process-group"), env: {}, onLine: (l) => lines.push(l.text), onStart: (pid) => pids.push(pid), onExit: (e) => exits.push(e), stopGraceMs: 2000 });
  child.start();
  const grandchild = Number((await until(() => lines.find((l) => l.startsWith("child ")), "the grandchild")).split(" ")[1]);
  await child.stop();
  expect(exits.at(-1)).toMatchObject({ stopped: true });
  await until(() => !alive(grandchild), "the grandchild gone too");
  await child.restart();
  await until(() => pids.length === 2 && child.running, "a second start");
  await child.stop();
  expect(child.running).toBe(false);
});

test("a missing working directory is a clear error", () => {
  const child = new WorkstationProcess({ command: "true", cwd: "/nonexistent/folder", env: {}, onLine: () => undefined, onExit: () => undefined });
  expect(() => child.start()).toThrow("The working directory /nonexistent/folder does not exist.");
});

test("a launch command's program is checked before anything starts: PATH, paths relative to the folder, builtins and shell syntax", () => {
  const folder = tempDir("launch-check");
  fs.writeFileSync(path.join(folder, "run.sh"), "#!/bin/sh\n", { mode: 0o755 });
  fs.writeFileSync(path.join(folder, "notes.txt"), "", { mode: 0o644 });
  const ok = ["node -e 1", "PORT=3000 DEBUG=1 node server.js", "./run.sh --dev", "cd sub && npm start", "$RUNNER start", "exec node x"];
  for (const command of ok) expect(() => checkLaunch(command, folder), command).not.toThrow();
  expect(() => checkLaunch("kbridge-no-such-program --dev", folder)).toThrow(expect.objectContaining({ info: expect.objectContaining({ code: "launch-program-not-found", message: 'The launch command\'s program "kbridge-no-such-program" is not on this workstation\'s PATH.', fields: { launchCommand: '"kbridge-no-such-program" not found' } }) }));
  expect(() => checkLaunch("./notes.txt", folder)).toThrow(/program \.\/notes\.txt is not an executable file/);
  expect(() => checkLaunch("node x", path.join(folder, "missing"))).toThrow(expect.objectContaining({ info: expect.objectContaining({ fields: { workingDirectory: `${path.join(folder, "missing")} does not exist` } }) }));
});

test("the process gets the whole environment, names a shell cannot hold included (CFG_settings.txt from an envFrom prefix), with or without shell syntax", async () => {
  const env = { "CFG_settings.txt": "mode=fast", "my-dashed.var": "yes", PLAIN: "ok" };
  const show = "console.log([process.env['CFG_settings.txt'], process.env['my-dashed.var'], process.env.PLAIN, process.env.EXTRA].join(' '))";
  for (const command of [`node -e "${show}"`, `EXTRA=set node -e "${show}"`, `node -e "${show}" | cat`]) {
    const lines: string[] = [];
    const exits: ProcessExit[] = [];
    new WorkstationProcess({ command, cwd: tempDir("process-env"), env, onLine: (l) => lines.push(l.text), onExit: (e) => exits.push(e) }).start();
    await until(() => exits.length === 1, command);
    expect(lines, command).toEqual([`mode=fast yes ok ${command.startsWith("EXTRA") ? "set" : ""}`]);
  }
});

test("a plain command is words and quotes; anything a shell interprets is left to one", () => {
  expect(plainCommand(`npm run dev -- --port 3000`)).toEqual({ argv: ["npm", "run", "dev", "--", "--port", "3000"], assignments: {} });
  expect(plainCommand(`A=1 B="two words" node 'server.js' "x y"`)).toEqual({ argv: ["node", "server.js", "x y"], assignments: { A: "1", B: "two words" } });
  expect(plainCommand(`node -e "console.log(process.env['X'])"`)).toEqual({ argv: ["node", "-e", "console.log(process.env['X'])"], assignments: {} });
  for (const shellish of ["npm run dev | tee log", "echo $HOME", "a && b", "cat < in", "ls *.js", "cd ~", 'echo "$X"', "echo `date`", "echo 'unclosed", "A=1"]) expect(plainCommand(shellish), shellish).toBeNull();
});

test("a killed helper's process is recognised by its /proc cmdline, plain or under a shell, and nothing else is", () => {
  const plain = `node -e "console.log('api listening')"`;
  expect(runsCommand(["node", "-e", "console.log('api listening')", ""].join("\0"), plain)).toBe(true);
  expect(runsCommand(["/usr/bin/node", "-e", "console.log('api listening')", ""].join("\0"), plain)).toBe(true);
  expect(runsCommand(["node", "-e", "console.log('other')", ""].join("\0"), plain)).toBe(false);
  const shelled = "npm run dev | tee dev.log";
  expect(runsCommand(["/bin/bash", "-c", shelled, ""].join("\0"), shelled)).toBe(true);
  expect(runsCommand(["/bin/bash", "-c", "something else", ""].join("\0"), shelled)).toBe(false);
});
