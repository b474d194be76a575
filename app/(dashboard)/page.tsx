import Link from "next/link";
import { PageHeader } from "../components/ui/PageHeader.tsx";
import { buttonClass } from "../components/ui/buttons.ts";
import { listProfiles } from "../lib/server/profiles.ts";
import { listProjects } from "../lib/server/projects.ts";
import { ClusterAccessCard } from "./ClusterAccessCard.tsx";
import { OverviewProfiles } from "./OverviewProfiles.tsx";

export default async function OverviewPage() {
  const [projects, profiles] = await Promise.all([listProjects(), listProfiles()]);
  return (
    <>
      <PageHeader
        title="Overview"
        description="kbridge redirects a service's cluster traffic to a process on this workstation, which reaches the other services by their cluster names with the pod's environment and files."
        actions={
          <Link href="/projects" className={buttonClass.primary}>
            {projects.length === 0 ? "Create your first project" : `Projects (${projects.length})`}
          </Link>
        }
      />
      <div className="flex flex-col gap-6">
        {projects.length > 0 && <OverviewProfiles projects={projects} profiles={profiles} />}
        <ClusterAccessCard />
      </div>
    </>
  );
}
