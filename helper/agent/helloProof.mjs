// How a helper proves to its agent that it is the session's own (agent.mjs, muxTunnel.ts):
// the helper makes an Ed25519 key pair per session and keeps the private key on the
// workstation; the agent gets only the public key. On each tunnel the agent sends a fresh
// random challenge and adopts the connection only if the helper signs it. Nothing stored in
// the cluster (a Secret, the pod spec) lets anyone else drive the agent.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from "node:crypto";

const CONTEXT = "kbridge-agent-hello/2";

const signed = (session, challenge) => Buffer.from(`${CONTEXT}\n${session}\n${challenge}`, "utf8");

/** A new key pair: the private key (PKCS#8 PEM) stays with the helper; the public one (SPKI DER, base64) goes to the agent. */
export function newHelperKey() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString(), publicKey: publicKey.export({ type: "spki", format: "der" }).toString("base64") };
}

export function newChallenge() {
  return randomBytes(32).toString("base64");
}

/** The helper's answer to a challenge. */
export function proveHello(privateKeyPem, session, challenge) {
  return sign(null, signed(session, challenge), createPrivateKey(privateKeyPem)).toString("base64");
}

/** Whether `signature` answers `challenge` for this session's public key (false for anything malformed). */
export function checkHello(publicKeyBase64, session, challenge, signature) {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKeyBase64, "base64"), format: "der", type: "spki" });
    return typeof signature === "string" && verify(null, signed(session, challenge), key, Buffer.from(signature, "base64"));
  } catch {
    return false;
  }
}

/** A public key the agent can use (it refuses to start without one). */
export function validPublicKey(publicKeyBase64) {
  try {
    return createPublicKey({ key: Buffer.from(publicKeyBase64, "base64"), format: "der", type: "spki" }).asymmetricKeyType === "ed25519";
  } catch {
    return false;
  }
}
