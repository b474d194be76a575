/** What a connect targets, as the user names it, and what kbridge resolved it to. */
import { z } from "zod";
import { targetKinds } from "./profile.ts";

export const targetRefSchema = z.object({
  kind: z.enum(targetKinds),
  name: z.string().min(1).max(253),
  namespace: z.string().min(1).max(63),
  /** Chosen by kbridge when empty. */
  container: z.string().max(63).default(""),
});
export type TargetRef = z.input<typeof targetRefSchema>;

export interface ResolvedPort {
  /** The Service port (absent for Deployment and Pod targets). */
  servicePort?: number;
  name?: string;
  /** The container port the workload listens on, where the agent will listen. */
  containerPort: number;
  protocol: string;
}

export interface ResolvedTarget {
  namespace: string;
  service?: string;
  workload: { kind: "Deployment" | "StatefulSet" | "Pod"; name: string; replicas: number };
  container: string;
  /** Why this container was chosen (shown in the connect steps). */
  containerReason: "requested" | "default-container annotation" | "only container" | "only non-sidecar container" | "serves the service's ports";
  ports: ResolvedPort[];
  /** The pods that serve the target now. */
  pods: string[];
}
