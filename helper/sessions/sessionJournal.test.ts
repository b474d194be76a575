import fs from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { tempDir } from "../../test/support/tempDir.ts";
import { silentLogger } from "../logs/logger.ts";
import { SessionJournal } from "./sessionJournal.ts";

const dir = tempDir("journal-compat");

test("a plan journalled by an earlier version (controlPort) is read with its inbound port, so its session can be resumed", () => {
  const plan = { id: "ab12cd34", owner: "dev@box", routes: [[8080, 3000]], controlPort: 47000, outboundPort: 47001, token: "t", deadmanSeconds: 30 };
  fs.writeFileSync(path.join(dir, "ab12cd34.json"), JSON.stringify({ id: "ab12cd34", startedAt: "2026-12-01T00:00:00.000Z", input: {}, plan }));
  const [entry] = new SessionJournal(dir, silentLogger()).list();
  expect(entry?.plan).toMatchObject({ inboundPort: 47000, outboundPort: 47001 });
  expect(entry?.plan).not.toHaveProperty("controlPort");
});
