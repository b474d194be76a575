/** The helper contract: no Node, DOM or Kubernetes imports here, only zod. */
export * from "./result.ts";
export * from "./status.ts";
export * from "./events.ts";
export * from "./profile.ts";
export * from "./addresses.ts";
export * from "./target.ts";
export * from "./session.ts";
export * from "./cluster.ts";
export * from "./podResources.ts";
