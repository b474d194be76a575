/**
 * The workstation's side of a connected session: the cluster's services mapped onto it, the
 * config file's variables and volumes, and the environment the workstation process gets —
 * rebuilt whenever the mapped services change.
 */
import os from "node:os";
import path from "node:path";
import type { Duplex } from "node:stream";
import { buildEnvironment, type EnvVar } from "../environment/containerEnv.ts";
import { readLocalProcessConfig, type LocalProcessConfig } from "../environment/localProcessConfig.ts";
import type { ClusterConnection } from "../k8s/clusterConnection.ts";
import { readEnvironmentSources, type EnvironmentSources } from "../k8s/podEnvironment.ts";
import type { ConnectedSession, SessionCallbacks, SessionPlan, stepper } from "./sessionPlan.ts";
import { applyConfig, type AppliedConfig } from "../environment/configFile.ts";
import type { AgentTunnels } from "./agentTunnels.ts";
import { startServiceEndpoints, type ServiceEndpoints } from "../endpoints/serviceEndpoints.ts";

export interface WorkstationEnvironment {
  environment(): EnvVar[];
  endpoints(): ReturnType<ConnectedSession["endpoints"]>;
  /** Unmaps the cluster's services. */
  close(): Promise<void>;
}

interface Setup {
  connection: ClusterConnection;
  plan: SessionPlan;
  /** The agent pod whose container's environment and volumes the workstation gets. */
  pod: string;
  tunnels: Pick<AgentTunnels, "dial" | "files">;
  step: ReturnType<typeof stepper>;
  callbacks: SessionCallbacks;
  /** The plan's config file as connect already read it (a resume reads it again). */
  config?: LocalProcessConfig;
}

/** Runs the steps "map services", "apply config file" and "read environment"; a failure unmaps what was mapped. */
export async function prepareWorkstation({ connection, plan, pod, tunnels, step, callbacks, config }: Setup): Promise<WorkstationEnvironment> {
  const { log } = callbacks;
  const namespace = plan.target.namespace;
  let services: ServiceEndpoints | undefined;
  let environment: EnvVar[] = [];
  let envSources: EnvironmentSources | undefined;
  let applied: AppliedConfig | undefined;
  const rebuild = async () => {
    if (envSources) environment = await buildEnvironment({ ...envSources, endpoints: services?.list() ?? [], overrides: plan.envOverrides, ...(applied ? { configFile: applied.env } : {}) });
  };
  const close = async () => {
    await services?.close().catch((error: Error) => log.warn({ err: error.message }, "could not unmap the cluster services"));
  };
  try {
    const settings = plan.endpoints;
    if (settings) {
      const onChange = () => void rebuild().then(() => callbacks.onEndpointsChanged?.(), (error: Error) => log.warn({ err: error.message }, "could not rebuild the environment"));
      const dial = (host: string, port: number): Promise<Duplex> => tunnels.dial(host, port);
      services = await step(
        "map services",
        () => startServiceEndpoints({ connection, namespace, settings, dial, log, onChange }),
        (mapped) => `${mapped.list().length} cluster service(s) ${mapped.mode === "hosts" ? `on 127.1.x addresses, named in ${settings.hostsFile}` : `on 127.0.0.1 ports${mapped.reason ? ` (${mapped.reason})` : ""}`}`,
      );
    }
    const sources = await readEnvironmentSources(connection, namespace, pod, plan.target.container);
    const configFile = plan.configFile;
    if (configFile) {
      applied = await step(
        "apply config file",
        () =>
          applyConfig({
            config: config ?? readLocalProcessConfig(configFile),
            namespace,
            volumeMounts: sources.volumeMounts,
            endpoints: services?.list() ?? [],
            files: (mountPath) => tunnels.files(mountPath),
            volumesDir: path.join(plan.volumesDir ?? os.tmpdir(), plan.id),
          }),
        (a) => `${Object.keys(a.env).length} variable(s)${a.volumes.map((v) => `; volume ${v.name} (${v.files} file(s) written${v.skipped.length ? `, skipped ${v.skipped.join(", ")}` : ""}) in ${v.localPath}`).join("")}`,
      );
    }
    envSources = sources;
    await step("read environment", rebuild, () => `${environment.length} variables, ${environment.filter((v) => v.secret).length} from secrets`);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    environment: () => environment.map((v) => ({ ...v })),
    endpoints: () => (services ? { mode: services.mode, ...(services.reason ? { reason: services.reason } : {}), list: services.list() } : undefined),
    close,
  };
}
