/**
 * ANSI SGR colour codes in process output (what `npm run dev`, test runners and loggers
 * print to a terminal) as styled segments; every other escape sequence is dropped.
 */

export interface AnsiSegment {
  text: string;
  /** Tailwind classes for the segment's colour and weight ("" for plain). */
  className: string;
}

const FOREGROUND: Record<number, string> = {
  30: "text-slate-500",
  31: "text-rose-400",
  32: "text-emerald-400",
  33: "text-amber-300",
  34: "text-sky-400",
  35: "text-fuchsia-400",
  36: "text-cyan-300",
  37: "text-slate-100",
  90: "text-slate-400",
  91: "text-rose-300",
  92: "text-emerald-300",
  93: "text-yellow-200",
  94: "text-sky-300",
  95: "text-fuchsia-300",
  96: "text-cyan-200",
  97: "text-white",
};

// CSI sequences (ESC [ params final-byte) and the two-byte ESC sequences.
// eslint-disable-next-line no-control-regex -- matching the ESC control character is the point
const ESCAPE = /\x1b\[([0-9;?]*)([@-~])|\x1b[@-Z\\-_]/g;

/** Splits `text` at its SGR codes; null when it has no escape sequence at all (the common case). */
export function parseAnsi(text: string): AnsiSegment[] | null {
  if (!text.includes("\x1b")) return null;
  const segments: AnsiSegment[] = [];
  let colour = "";
  let bold = false;
  let at = 0;
  const push = (until: number) => {
    if (until > at) segments.push({ text: text.slice(at, until), className: [colour, bold ? "font-bold" : ""].filter(Boolean).join(" ") });
  };
  for (const match of text.matchAll(ESCAPE)) {
    push(match.index);
    at = match.index + match[0].length;
    if (match[2] !== "m") continue; // not a colour: dropped
    const codes = (match[1] ?? "").split(";").filter((c) => c !== "").map(Number);
    if (codes.length === 0) codes.push(0);
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i] as number;
      if (code === 0) {
        colour = "";
        bold = false;
      } else if (code === 1) bold = true;
      else if (code === 22) bold = false;
      else if (code === 39) colour = "";
      else if (FOREGROUND[code]) colour = FOREGROUND[code];
      else if (code === 38 || code === 48) i += codes[i + 1] === 5 ? 2 : 4; // 256-colour / true-colour: skipped
    }
  }
  push(text.length);
  return segments;
}
