import { expect, test } from "vitest";
import { queryFlag } from "./queryFlag.ts";

test("a boolean query parameter reads as the API server reads it: absent, 0 and false (any case) are false, anything else true", () => {
  const flag = (query: string) => queryFlag(new URLSearchParams(query), "watch");
  for (const query of ["watch=true", "watch=True", "watch=TRUE", "watch=1", "watch=t", "watch=yes", "watch=", "watch"]) expect(flag(query), query).toBe(true);
  for (const query of ["", "other=true", "watch=false", "watch=False", "watch=FALSE", "watch=0"]) expect(flag(query), query).toBe(false);
});
