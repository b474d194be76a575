/** Tailwind classes for buttons and button-like links. */
const BASE = "inline-flex items-center justify-center gap-2 rounded-md px-3.5 py-2 text-sm font-medium shadow-sm transition disabled:cursor-not-allowed disabled:opacity-60";

export const buttonClass = {
  primary: `${BASE} bg-sky-600 text-white hover:bg-sky-700`,
  secondary: `${BASE} border border-slate-300 bg-white text-slate-700 hover:bg-slate-50`,
  danger: `${BASE} border border-rose-300 bg-white text-rose-700 hover:bg-rose-50`,
  quiet: "text-sm font-medium text-sky-700 hover:text-sky-900 hover:underline",
} as const;
