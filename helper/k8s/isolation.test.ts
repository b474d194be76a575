import { describe, expect, test } from "vitest";
import { personalIngress, personalUrls } from "./isolation.ts";

const session = { id: "ab12cd34", owner: "alice@laptop", expiresAt: new Date("2026-11-28T00:00:00Z") };

describe("personal ingresses", () => {
  const ingress = {
    metadata: { name: "shop", annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}", "nginx.ingress.kubernetes.io/rewrite-target": "/" } },
    spec: {
      ingressClassName: "nginx",
      rules: [
        { host: "shop.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] } },
        { host: "*.preview.example.com", http: { paths: [] } },
        { http: { paths: [] } },
        { host: "admin.example.com", http: { paths: [] } },
      ],
      tls: [{ hosts: ["shop.example.com", "*.preview.example.com"], secretName: "shop-tls" }],
    },
    status: { loadBalancer: { ingress: [{ ip: "10.0.0.9", ports: [{ port: 8443, protocol: "TCP" }] }] } },
  };

  test("every concrete host gets <key>. in front (rules and TLS), paths and class kept, wildcard and host-less rules left out, labelled as the session's", () => {
    const personal = personalIngress(ingress, "alice-3f2a", session);
    expect(personal?.metadata?.name).toBe("kbridge-ab12cd34-shop");
    expect(personal?.metadata?.labels).toMatchObject({ "kbridge.dev/session": "ab12cd34", "kbridge.dev/routing-key": "alice-3f2a", "app.kubernetes.io/managed-by": "kbridge" });
    expect(personal?.metadata?.annotations).toMatchObject({ "nginx.ingress.kubernetes.io/rewrite-target": "/", "kbridge.dev/personal-for": "shop" });
    expect(personal?.metadata?.annotations?.["kubectl.kubernetes.io/last-applied-configuration"]).toBeUndefined();
    expect(personal?.spec?.ingressClassName).toBe("nginx");
    expect(personal?.spec?.rules?.map((r) => r.host)).toEqual(["alice-3f2a.shop.example.com", "alice-3f2a.admin.example.com"]);
    expect(personal?.spec?.rules?.[0]?.http).toEqual(ingress.spec.rules[0]?.http);
    expect(personal?.spec?.tls).toEqual([{ hosts: ["alice-3f2a.shop.example.com"], secretName: "shop-tls" }]);
  });

  test("URLs: https where TLS covers the host, the published port when it is not the scheme's", () => {
    const personal = personalIngress(ingress, "alice-3f2a", session);
    expect(personal && personalUrls(personal, ingress)).toEqual(["https://alice-3f2a.shop.example.com:8443/", "http://alice-3f2a.admin.example.com:8443/"]);
    expect(personal && personalUrls(personal, { ...ingress, status: { loadBalancer: { ingress: [{ ip: "10.0.0.9" }] } } })).toEqual(["https://alice-3f2a.shop.example.com/", "http://alice-3f2a.admin.example.com/"]);
  });

  test("an ingress with only wildcard or host-less rules gets none", () => {
    expect(personalIngress({ metadata: { name: "any" }, spec: { rules: [{ http: { paths: [] } }, { host: "*.example.com" }] } }, "alice-3f2a", session)).toBeNull();
  });
});
