import type { Metadata } from "next";
import { PageHeader } from "../../components/ui/PageHeader.tsx";
import { ClusterObjects } from "./ClusterObjects.tsx";

export const metadata: Metadata = { title: "Cluster" };

export default function ClusterPage() {
  return (
    <>
      <PageHeader
        title="Cluster"
        description="Everything kbridge created in a namespace — agents, saved originals, restorers — by session. A stale object belongs to a session whose helper stopped without restoring; remove it here (its workload is restored first)."
      />
      <ClusterObjects />
    </>
  );
}
