/**
 * The workstation process's environment as a file other tools read: `.env` (dotenv, and
 * Node's --env-file), JSON, or a POSIX shell script to source. Values survive spaces,
 * quotes, `$` and newlines in every format.
 */
import { KbridgeError, type EnvVarView } from "../protocol/index.ts";

export const envFormats = ["dotenv", "json", "sh"] as const;
export type EnvFormat = (typeof envFormats)[number];

const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function formatEnvironment(vars: EnvVarView[], format: EnvFormat): string {
  if (format === "json") return JSON.stringify(Object.fromEntries(vars.map((v) => [v.name, v.value])), null, 2) + "\n";
  const header = "# Environment of the workstation process, written by kbridge. Contains secrets: keep it private.\n";
  if (format === "sh") {
    const lines = vars.map((v) => (SHELL_NAME.test(v.name) ? `export ${v.name}=${shellQuote(v.value)}` : `# skipped ${JSON.stringify(v.name)}: not a shell variable name`));
    return header + lines.join("\n") + "\n";
  }
  return header + vars.map((v) => `${v.name}=${dotenvQuote(v.name, v.value)}`).join("\n") + "\n";
}

/** Single quotes keep everything literal; a single quote itself is closed, escaped and reopened. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * dotenv has no escapes inside quotes (only `\n` in double quotes): use the first quote
 * character the value does not contain; newlines stay real (multi-line values are valid).
 */
function dotenvQuote(name: string, value: string): string {
  for (const quote of ['"', "'", "`"]) {
    // Inside double quotes dotenv turns a literal \n into a newline: only use them when the value has none.
    if (value.includes(quote) || (quote === '"' && value.includes("\\n"))) continue;
    return `${quote}${value}${quote}`;
  }
  throw new KbridgeError({
    code: "env-not-representable",
    category: "user",
    message: `The value of ${name} contains every dotenv quote character (", ' and \`), which a .env file cannot hold.`,
    hint: "Use --format json or --format sh for this environment.",
  });
}
