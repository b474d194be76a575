/**
 * The one wrapper every command handler goes through: it parses the payload with the
 * command's zod schema, runs the handler, and acknowledges with a Result — whatever the
 * client sent and whatever the handler threw. Internal errors reach the client as a log id.
 */
import { randomUUID } from "node:crypto";
import { commandSchemas, fail, invalidInput, KbridgeError, ok, type CommandArgs, type CommandName, type CommandOutputs, type Result } from "../protocol/index.ts";
import type { Logger } from "../logs/logger.ts";

export type CommandHandler<C extends CommandName> = (input: CommandArgs<C>) => Promise<CommandOutputs[C]> | CommandOutputs[C];

export type CommandHandlers = { [C in CommandName]: CommandHandler<C> };

/** Runs `handler` on a raw payload and returns the Result to acknowledge with. */
export async function runCommand<C extends CommandName>(
  command: C,
  handler: CommandHandler<C>,
  payload: unknown,
  log: Logger,
): Promise<Result<CommandOutputs[C]>> {
  const parsed = commandSchemas[command].safeParse(payload ?? {});
  if (!parsed.success) {
    log.info({ command, issues: parsed.error.issues.length }, "rejected a malformed payload");
    return fail({ ...invalidInput(parsed.error, `payload for ${command}`), code: "invalid-payload" });
  }
  try {
    return ok(await handler(parsed.data as CommandArgs<C>));
  } catch (error) {
    if (error instanceof KbridgeError) {
      log.info({ command, code: error.info.code }, "command failed");
      return fail(error.info);
    }
    const logId = randomUUID().slice(0, 8);
    log.error({ command, logId, err: error }, "command failed unexpectedly");
    return fail({
      code: "internal",
      category: "internal",
      message: `The helper failed while running ${command}.`,
      hint: `See the helper log, id=${logId}.`,
      logId,
    });
  }
}

/** Splits Socket.IO listener arguments into payload and ack; a missing ack is tolerated. */
export function splitAck(args: unknown[]): { payload: unknown; ack: ((result: unknown) => void) | undefined } {
  const last = args.at(-1);
  if (typeof last === "function") {
    return { payload: args.length > 1 ? args[0] : undefined, ack: last as (result: unknown) => void };
  }
  return { payload: args[0], ack: undefined };
}
