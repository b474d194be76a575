/**
 * A private CA for one test cluster, with a server certificate for 127.0.0.1/localhost and
 * a client certificate (CN kbridge-user, O system:masters), made with the machine's openssl.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface ClusterCertificates {
  caCert: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
}

/** `apiServiceIp`: the `kubernetes` Service's ClusterIP, which pods use to reach the API server. */
export function makeCertificates(apiServiceIp: string): ClusterCertificates {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kbridge-cluster-pki-"));
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  try {
    openssl("req", "-x509", ...ecKey, "-keyout", file("ca.key"), "-out", file("ca.crt"), "-days", "30", "-subj", "/CN=kbridge-test-cluster-ca");
    const sign = (name: string, subject: string, extensions: string) => {
      fs.writeFileSync(file(`${name}.ext`), extensions);
      openssl("req", ...ecKey, "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`), "-subj", subject);
      openssl("x509", "-req", "-in", file(`${name}.csr`), "-CA", file("ca.crt"), "-CAkey", file("ca.key"), "-CAcreateserial", "-out", file(`${name}.crt`), "-days", "30", "-extfile", file(`${name}.ext`));
    };
    const names = ["IP:127.0.0.1", `IP:${apiServiceIp}`, "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local"];
    sign("server", "/CN=kube-apiserver", `subjectAltName=${names.join(",")}\nextendedKeyUsage=serverAuth\n`);
    sign("client", "/O=system:masters/CN=kbridge-user", "extendedKeyUsage=clientAuth\n");
    const read = (name: string) => fs.readFileSync(file(name), "utf8");
    return { caCert: read("ca.crt"), serverKey: read("server.key"), serverCert: read("server.crt"), clientKey: read("client.key"), clientCert: read("client.crt") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
