"use client";

import { buttonClass } from "../../../../components/ui/buttons.ts";

export interface PortRow {
  servicePort: string;
  workstationPort: string;
}

const INPUT = "w-32 rounded-md border px-3 py-2 text-sm shadow-sm outline-none focus:ring-2";
const inputClass = (error?: string) => `${INPUT} ${error ? "border-rose-400 focus:ring-rose-200" : "border-slate-300 focus:border-sky-500 focus:ring-sky-200"}`;

/** Rows of "service port → workstation port", with per-cell errors keyed `portMappings.<i>.<field>`. */
export function PortMappingsField({ rows, onChange, errors }: { rows: PortRow[]; onChange: (rows: PortRow[]) => void; errors: Record<string, string> }) {
  const update = (index: number, patch: Partial<PortRow>) => onChange(rows.map((row, i) => (i === index ? { ...row, ...patch } : row)));
  return (
    <fieldset className="flex flex-col gap-3">
      <legend className="mb-2 text-sm text-slate-600">Which workstation port serves each port of the target. Traffic the cluster sends to the service port reaches 127.0.0.1:&lt;workstation port&gt;.</legend>
      {rows.map((row, index) => {
        const serviceError = errors[`portMappings.${index}.servicePort`];
        const workstationError = errors[`portMappings.${index}.workstationPort`];
        return (
          <div key={index} className="flex flex-col gap-1">
            <div className="flex items-center gap-3">
              <input
                aria-label={`Service port ${index + 1}`}
                aria-invalid={serviceError ? true : undefined}
                inputMode="numeric"
                placeholder="80"
                value={row.servicePort}
                onChange={(e) => update(index, { servicePort: e.target.value })}
                className={inputClass(serviceError)}
              />
              <span aria-hidden className="text-slate-400">→</span>
              <input
                aria-label={`Workstation port ${index + 1}`}
                aria-invalid={workstationError ? true : undefined}
                inputMode="numeric"
                placeholder="3000"
                value={row.workstationPort}
                onChange={(e) => update(index, { workstationPort: e.target.value })}
                className={inputClass(workstationError)}
              />
              {rows.length > 1 && (
                <button type="button" className={buttonClass.quiet} onClick={() => onChange(rows.filter((_, i) => i !== index))} aria-label={`Remove port mapping ${index + 1}`}>
                  Remove
                </button>
              )}
            </div>
            {[serviceError, workstationError].filter(Boolean).map((message) => (
              <p key={message} className="text-xs font-medium text-rose-600">
                {message}
              </p>
            ))}
          </div>
        );
      })}
      {errors.portMappings && <p className="text-xs font-medium text-rose-600">{errors.portMappings}</p>}
      <div>
        <button type="button" className={buttonClass.secondary} onClick={() => onChange([...rows, { servicePort: "", workstationPort: "" }])}>
          Add port mapping
        </button>
      </div>
    </fieldset>
  );
}
