import type { Metadata } from "next";
import { PageHeader } from "../../components/ui/PageHeader.tsx";
import { HeaderPropagation } from "./HeaderPropagation.tsx";
import { TeamSessions } from "./TeamSessions.tsx";

export const metadata: Metadata = { title: "Team" };

export default function TeamPage() {
  return (
    <>
      <PageHeader
        title="Team"
        description="Everyone isolating in a namespace, read from the cluster: each developer's routing key and personal URLs. A request with their key — or opened on their URL — reaches their workstation; everything else reaches the cluster's pods."
      />
      <div className="flex flex-col gap-6">
        <TeamSessions />
        <HeaderPropagation />
      </div>
    </>
  );
}
