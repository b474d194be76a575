"use client";

import type { IsolationView, SessionView } from "../../../helper/protocol/index.ts";
import { useClusterPlace } from "../../components/cluster/ClusterPlace.tsx";
import { Card } from "../../components/ui/Card.tsx";
import { ErrorNotice } from "../../components/ui/ErrorNotice.tsx";
import { useClusterChanges } from "../../lib/client/useClusterChanges.ts";
import { useHelperQuery } from "../../lib/client/useHelperQuery.ts";
import { useLiveSessions } from "../../lib/client/useLiveSession.tsx";
import { CopyButton } from "./CopyButton.tsx";

const HEADER = "kubernetes-route-as";

/** A ready curl with the header: to the personal URL (works without it too), else to the Service by its cluster name (from inside the cluster, or a kbridge-connected workstation). */
function curlFor(isolation: IsolationView): string {
  return `curl -H '${HEADER}: ${isolation.routingKey}' ${isolation.urls[0] ?? `http://${isolation.service}.${isolation.namespace}/`}`;
}

/** Every isolation session in the namespace (read again whenever the helper's watch sees a change), with copy and open for each URL. */
export function TeamSessions() {
  const { kubeContext, namespace, picker } = useClusterPlace("team");
  const changed = useClusterChanges(kubeContext, namespace);
  // Read once the watch answered (version 1), then on every change it reports.
  const team = useHelperQuery("team:list", changed > 0 ? { kubeContext, namespace } : null, changed);
  const ours = useLiveSessions();

  const list = team.kind === "loaded" ? team.data : [];
  const mine = new Map(ours.map((s) => [s.id, s]));
  return (
    <div className="flex flex-col gap-6">
      {picker}
      {team.kind === "failed" && <ErrorNotice error={team.error} />}
      <Card title="Isolation sessions" labelledBy="isolations-title">
        {team.kind === "loaded" && list.length === 0 && (
          <p className="text-sm text-slate-600">Nobody isolates in {namespace} right now. Connect a profile with “Isolated” on (or kbridge connect --isolate) to get a personal URL your team can open.</p>
        )}
        {(team.kind === "waiting" || (team.kind === "idle" && kubeContext && namespace)) && <p className="text-sm text-slate-500">Reading the cluster…</p>}
        {list.length > 0 && (
          <div className="overflow-x-auto">
          <table className="w-full text-left text-sm" aria-label="Isolation sessions">
            <thead className="text-xs uppercase tracking-wide text-slate-500">
              <tr>
                <th className="py-2 pr-4 font-medium">Owner</th>
                <th className="py-2 pr-4 font-medium">Service</th>
                <th className="py-2 pr-4 font-medium">Routing key</th>
                <th className="py-2 pr-4 font-medium">Personal URLs</th>
                <th className="py-2 pr-4 font-medium">Started</th>
                <th className="py-2 font-medium">Expires</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {list.map((isolation) => (
                <TeamRow key={isolation.session} isolation={isolation} own={mine.get(isolation.session)} />
              ))}
            </tbody>
          </table>
          </div>
        )}
      </Card>
    </div>
  );
}

function TeamRow({ isolation, own }: { isolation: IsolationView; own: SessionView | undefined }) {
  return (
    <tr data-session={isolation.session} data-routing-key={isolation.routingKey} className="align-top">
      <td className="py-2 pr-4 text-slate-800">
        {isolation.owner}
        {own && <span className="ml-2 rounded-full bg-sky-100 px-2 py-0.5 text-xs font-medium text-sky-800">you</span>}
        {!isolation.ready && <span className="ml-2 rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-800">starting</span>}
      </td>
      <td className="whitespace-nowrap py-2 pr-4 font-mono text-slate-700">{isolation.service}</td>
      {/* A key is one word to type or compare: never broken at its hyphen. */}
      <td className="whitespace-nowrap py-2 pr-4 font-mono text-slate-700" data-testid="routing-key">
        {isolation.routingKey}
      </td>
      <td className="py-2 pr-4">
        <ul className="flex flex-col gap-1">
          {isolation.urls.map((url) => (
            <li key={url} className="flex flex-wrap items-center gap-2">
              <a href={url} target="_blank" rel="noreferrer" className="whitespace-nowrap font-mono text-sky-700 underline">
                {url}
              </a>
              <CopyButton text={url} label="Copy URL" what={url} />
            </li>
          ))}
          {isolation.urls.length === 0 && <li className="text-slate-500">no ingress host: send the header</li>}
          <li>
            <CopyButton text={curlFor(isolation)} label="Copy curl" what={`curl for ${isolation.routingKey}`} />
          </li>
        </ul>
        {own?.isolation && <PropagationCheck isolation={own.isolation} service={isolation.service} />}
      </td>
      <td className="py-2 pr-4 text-slate-600">{new Date(isolation.startedAt).toLocaleTimeString()}</td>
      <td className="py-2 text-slate-600">{isolation.expiresAt ? new Date(isolation.expiresAt).toLocaleString() : "—"}</td>
    </tr>
  );
}

/** Your own session: did requests with your key reach your workstation (the services in front forwarded the header)? */
function PropagationCheck({ isolation, service }: { isolation: NonNullable<SessionView["isolation"]>; service: string }) {
  const traffic = isolation.traffic;
  if (traffic && traffic.withKey > 0) {
    return (
      <p role="status" className="mt-2 text-xs text-emerald-800" data-testid="propagation-check">
        ✓ The header reached {service}: {traffic.withKey} request(s) with {HEADER}: {isolation.routingKey} came to your workstation
        {traffic.lastWithKeyAt ? ` (last at ${new Date(traffic.lastWithKeyAt).toLocaleTimeString()})` : ""}.
      </p>
    );
  }
  return (
    <p role="status" className="mt-2 text-xs text-amber-800" data-testid="propagation-check">
      No request with your key has reached your workstation yet. Open your URL: if it shows the cluster&apos;s version, a service in front of {service} does not forward {HEADER} — see “Header propagation” below.
    </p>
  );
}
