import type { ErrorInfo } from "../../../helper/protocol/index.ts";

/** An error as users see it: what failed and what to do, never a stack trace. */
export function ErrorNotice({ error }: { error: ErrorInfo }) {
  return (
    <div role="alert" className="rounded-md border border-rose-200 bg-rose-50 px-4 py-3 text-sm text-rose-900">
      <p className="font-medium">{error.message}</p>
      {error.hint && <p className="mt-1 text-rose-800">{error.hint}</p>}
    </div>
  );
}
