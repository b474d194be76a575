import { z } from "zod";

/** Bumped on any incompatible change to the events below; also the Socket.IO namespace (`/v1`). */
export const PROTOCOL_VERSION = 1;
export const HELPER_NAMESPACE = `/v${PROTOCOL_VERSION}`;

export const helperStatusSchema = z.object({
  version: z.string(),
  protocolVersion: z.number().int(),
  /** New on every helper start: clients drop caches and resubscribe when it changes. */
  bootId: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
  /** The kubeconfig files the helper reads, in merge order (`KUBECONFIG` or `~/.kube/config`). */
  kubeconfig: z.array(z.string()),
});
export type HelperStatus = z.infer<typeof helperStatusSchema>;

export const kubeContextSchema = z.object({
  name: z.string(),
  cluster: z.string(),
  user: z.string(),
  namespace: z.string().nullable(),
  /** API server URL of the context's cluster, when the kubeconfig names one. */
  server: z.string().nullable(),
});
export type KubeContext = z.infer<typeof kubeContextSchema>;

export const kubeContextListSchema = z.object({
  kubeconfig: z.array(z.string()),
  currentContext: z.string().nullable(),
  contexts: z.array(kubeContextSchema),
});
export type KubeContextList = z.infer<typeof kubeContextListSchema>;
