import { expect, test } from "vitest";
import { codeSpans } from "./codeSpans.ts";

test("backquoted parts become code; an unmatched backquote stays text", () => {
  expect(codeSpans("Run `npm run demo` in the clone, then `kbridge --help`.")).toEqual([
    { text: "Run ", code: false },
    { text: "npm run demo", code: true },
    { text: " in the clone, then ", code: false },
    { text: "kbridge --help", code: true },
    { text: ".", code: false },
  ]);
  expect(codeSpans("no quotes")).toEqual([{ text: "no quotes", code: false }]);
  expect(codeSpans("one ` only")).toEqual([{ text: "one ` only", code: false }]);
});
