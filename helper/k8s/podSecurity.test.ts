import { describe, expect, test } from "vitest";
import { agentSecurity, ownPodSecurity } from "./podSecurity.ts";

describe("security contexts that pass Pod Security restricted", () => {
  test("kbridge's own pods: non-root, RuntimeDefault, and no user where the namespace assigns one", () => {
    expect(ownPodSecurity(false)).toEqual({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } });
    expect(ownPodSecurity(true)).toEqual({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
  });

  test("the agent keeps a non-root user and a confined profile, replaces root, and may bind a port below 1024", () => {
    const container = { name: "web", securityContext: { runAsUser: 0, privileged: true, readOnlyRootFilesystem: true } };
    expect(agentSecurity(container, undefined, [80], false)).toEqual({
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 1000,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    // The pod's own user and confined profile apply: the agent names neither.
    expect(agentSecurity({ name: "web" }, { runAsUser: 2000, seccompProfile: { type: "RuntimeDefault" } }, [8080], false)).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    // OpenShift: the namespace's range decides the user.
    expect(agentSecurity({ name: "web" }, undefined, [8080], true).runAsUser).toBeUndefined();
    expect(agentSecurity({ name: "web", securityContext: { seccompProfile: { type: "Unconfined" } } }, undefined, [8080], false).seccompProfile).toEqual({ type: "RuntimeDefault" });
  });
});
