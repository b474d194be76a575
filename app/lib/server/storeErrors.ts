import "server-only";
import { fail, type Result } from "../../../helper/protocol/index.ts";

/** Prisma's "unique constraint failed" (P2002), whichever engine path raised it. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "P2002" || /UNIQUE constraint failed/i.test(String((error as Error | null)?.message));
}

export function notFound<T>(what: string, id: number): Result<T> {
  return fail({
    code: "not-found",
    category: "user",
    message: `${what} ${id} does not exist (it may have been deleted in another tab).`,
    hint: "Go back to the project list.",
  });
}

export function duplicateName<T>(what: string, name: string, scope = ""): Result<T> {
  const text = `A ${what} named "${name}" already exists${scope ? ` ${scope}` : ""}`;
  return fail({
    code: "duplicate-name",
    category: "user",
    message: `${text}.`,
    hint: "Choose another name.",
    fields: { name: text },
  });
}
