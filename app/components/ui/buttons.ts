/** Tailwind classes for buttons and button-like links. */
const SHAPE = "inline-flex items-center justify-center gap-2 rounded-md font-medium shadow-sm transition disabled:cursor-not-allowed disabled:opacity-60";
const NORMAL = `${SHAPE} px-3.5 py-2 text-sm`;
// Rows of a table (Connect, Open session, Disconnect per profile): one size, not an override of the normal one.
const SMALL = `${SHAPE} px-2.5 py-1 text-xs`;

const PRIMARY = "bg-sky-600 text-white hover:bg-sky-700";
const SECONDARY = "border border-slate-300 bg-white text-slate-700 hover:bg-slate-50";
const DANGER = "border border-rose-300 bg-white text-rose-700 hover:bg-rose-50";

export const buttonClass = {
  primary: `${NORMAL} ${PRIMARY}`,
  secondary: `${NORMAL} ${SECONDARY}`,
  danger: `${NORMAL} ${DANGER}`,
  quiet: "text-sm font-medium text-sky-700 hover:text-sky-900 hover:underline",
} as const;

export const smallButtonClass = {
  primary: `${SMALL} ${PRIMARY}`,
  secondary: `${SMALL} ${SECONDARY}`,
  danger: `${SMALL} ${DANGER}`,
} as const;

export type ButtonSize = "normal" | "small";
export const buttonClasses = (size: ButtonSize) => (size === "small" ? smallButtonClass : buttonClass);
