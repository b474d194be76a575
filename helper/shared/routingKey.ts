/**
 * Routing keys for isolation: `<user ≤8>-<4 hex>` (as Bridge to Kubernetes made them), and the
 * checks that keep `<key>.<host>` a valid name for every ingress host the personal URLs use.
 */
import { createHash, randomBytes } from "node:crypto";
import { KbridgeError } from "../protocol/index.ts";

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
/** A certificate's common name holds at most 64 characters (Let's Encrypt refuses longer ones for TLS hosts). */
const COMMON_NAME_MAX = 64;

/**
 * The user's name with only `[a-z0-9]` kept, cut to 8 (a SHA-256 of it when nothing is left,
 * e.g. a non-ASCII name), then `-` and 4 random hex digits.
 */
export function defaultRoutingKey(user: string, random: (size: number) => Buffer = randomBytes): string {
  const kept = user.toLowerCase().replace(/[^a-z0-9]/g, "");
  const prefix = (kept || createHash("sha256").update(user).digest("hex")).slice(0, 8);
  return `${prefix}-${random(2).toString("hex")}`;
}

/**
 * Checks a routing key against the hosts of the ingress rules it will prefix: a DNS label,
 * `<key>.<host>` within DNS's 253 characters, and within a certificate's 64 for TLS hosts.
 */
export function checkRoutingKey(key: string, hosts: { host: string; tls: boolean }[] = []): void {
  const fail = (message: string, hint: string): never => {
    throw new KbridgeError({ code: "routing-key-invalid", category: "user", message, hint, fields: { routingKey: message } });
  };
  if (key.length > 63 || !LABEL.test(key)) {
    fail(`Routing key "${key}" is not a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63).`, "Leave it empty for <user>-<4 hex>, or pick one such as alice-3f9c.");
  }
  for (const { host, tls } of hosts) {
    const personal = `${key}.${host}`;
    if (personal.length > 253) fail(`The personal host ${personal} is longer than DNS allows (253 characters).`, "Use a shorter routing key.");
    if (tls && personal.length > COMMON_NAME_MAX) {
      fail(`The personal host ${personal} is ${personal.length} characters; a TLS certificate's name holds at most ${COMMON_NAME_MAX}.`, `Use a routing key of at most ${COMMON_NAME_MAX - host.length - 1} characters for ${host}.`);
    }
  }
}
