import { expect, test } from "vitest";
import { parseAnsi } from "./ansi.ts";

test("plain text has no segments to build", () => {
  expect(parseAnsi("ready on http://localhost:3000")).toBeNull();
});

test("colours, bold and resets become segments; other escape sequences are dropped", () => {
  expect(parseAnsi("\x1b[32m✓\x1b[39m compiled \x1b[1m\x1b[31merror\x1b[0m done\x1b[2K")).toEqual([
    { text: "✓", className: "text-emerald-400" },
    { text: " compiled ", className: "" },
    { text: "error", className: "text-rose-400 font-bold" },
    { text: " done", className: "" },
  ]);
});

test("256-colour and true-colour codes are skipped without eating the codes after them", () => {
  expect(parseAnsi("\x1b[38;5;208;1mwarn\x1b[m ok")).toEqual([
    { text: "warn", className: "font-bold" },
    { text: " ok", className: "" },
  ]);
  expect(parseAnsi("\x1b[38;2;255;0;0;33mx")).toEqual([{ text: "x", className: "text-amber-300" }]);
});
