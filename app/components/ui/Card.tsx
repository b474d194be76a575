import type { ReactNode } from "react";

export function Card({ title, actions, children, labelledBy }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; labelledBy?: string }) {
  return (
    <section aria-labelledby={labelledBy} className="rounded-lg border border-slate-200 bg-white shadow-sm">
      {(title || actions) && (
        <header className="flex items-center justify-between gap-4 border-b border-slate-100 px-5 py-3">
          {title && (
            <h2 id={labelledBy} className="text-sm font-semibold text-slate-800">
              {title}
            </h2>
          )}
          {actions}
        </header>
      )}
      <div className="px-5 py-4">{children}</div>
    </section>
  );
}
