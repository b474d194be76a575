/** Text with `backquoted` parts (how kbridge's messages quote commands), split for rendering those parts as code. */
export function codeSpans(text: string): { text: string; code: boolean }[] {
  const parts = text.split("`");
  // An unmatched backquote is kept as it is: only pairs mark code.
  if (parts.length % 2 === 0) return [{ text, code: false }];
  return parts.map((part, i) => ({ text: part, code: i % 2 === 1 })).filter((part) => part.text !== "");
}
