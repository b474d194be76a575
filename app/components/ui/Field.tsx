import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from "react";

/** Labelled form controls with inline errors, wired for screen readers (and role queries in tests). */

const CONTROL =
  "block w-full rounded-md border bg-white px-3 py-2 text-sm text-slate-900 shadow-sm outline-none transition focus:ring-2 disabled:bg-slate-100";
const controlClass = (error?: string) =>
  `${CONTROL} ${error ? "border-rose-400 focus:border-rose-500 focus:ring-rose-200" : "border-slate-300 focus:border-sky-500 focus:ring-sky-200"}`;

/** aria-invalid and aria-describedby for a control whose frame renders `${id}-error` or `${id}-hint`. */
function describedBy(id: string, error?: string, hint?: ReactNode) {
  return { "aria-invalid": error ? true : undefined, "aria-describedby": error ? `${id}-error` : hint ? `${id}-hint` : undefined };
}

interface FieldFrameProps {
  label: string;
  hint?: ReactNode;
  error?: string;
  id: string;
  children: ReactNode;
}

function FieldFrame({ label, hint, error, id, children }: FieldFrameProps) {
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium text-slate-700">
        {label}
      </label>
      {children}
      {error ? (
        <p id={`${id}-error`} className="text-xs font-medium text-rose-600">
          {error}
        </p>
      ) : (
        hint && (
          <p id={`${id}-hint`} className="text-xs text-slate-500">
            {hint}
          </p>
        )
      )}
    </div>
  );
}

type TextFieldProps = { label: string; hint?: ReactNode; error?: string } & InputHTMLAttributes<HTMLInputElement>;

export function TextField({ label, hint, error, ...input }: TextFieldProps) {
  const id = useId();
  return (
    <FieldFrame label={label} hint={hint} error={error} id={id}>
      <input id={id} {...describedBy(id, error, hint)} className={controlClass(error)} {...input} />
    </FieldFrame>
  );
}

type SelectFieldProps = { label: string; hint?: ReactNode; error?: string; children: ReactNode } & SelectHTMLAttributes<HTMLSelectElement>;

export function SelectField({ label, hint, error, children, ...select }: SelectFieldProps) {
  const id = useId();
  return (
    <FieldFrame label={label} hint={hint} error={error} id={id}>
      <select id={id} {...describedBy(id, error, hint)} className={controlClass(error)} {...select}>
        {children}
      </select>
    </FieldFrame>
  );
}

type TextAreaFieldProps = { label: string; hint?: ReactNode; error?: string } & TextareaHTMLAttributes<HTMLTextAreaElement>;

export function TextAreaField({ label, hint, error, ...textarea }: TextAreaFieldProps) {
  const id = useId();
  return (
    <FieldFrame label={label} hint={hint} error={error} id={id}>
      <textarea id={id} {...describedBy(id, error, hint)} className={`${controlClass(error)} font-mono`} {...textarea} />
    </FieldFrame>
  );
}
