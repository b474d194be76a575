#!/usr/bin/env node
// The kbridge CLI. TypeScript sources run through tsx's loader (a runtime dependency).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../helper/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
