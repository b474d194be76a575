import type { ErrorInfo } from "../../../helper/protocol/index.ts";
import { codeSpans } from "../../lib/codeSpans.ts";

/** Text whose `backquoted` commands show as code. */
function WithCode({ text }: { text: string }) {
  return codeSpans(text).map((part, i) =>
    part.code ? (
      <code key={i} className="rounded bg-rose-100 px-1 font-mono text-xs">
        {part.text}
      </code>
    ) : (
      part.text
    ),
  );
}

/** An error as users see it: what failed and what to do, never a stack trace. */
export function ErrorNotice({ error }: { error: ErrorInfo }) {
  return (
    <div role="alert" className="rounded-md border border-rose-200 bg-rose-50 px-4 py-3 text-sm text-rose-900">
      <p className="font-medium">
        <WithCode text={error.message} />
      </p>
      {error.hint && (
        <p className="mt-1 text-rose-800">
          <WithCode text={error.hint} />
        </p>
      )}
    </div>
  );
}
