/**
 * Cluster DNS over UDP and TCP (RFC 1035): A records for `svc.ns.svc.cluster.local`
 * (ClusterIP, or every ready pod of a headless service), `host.svc.ns.svc.cluster.local`
 * (headless per-pod names), `a-b-c-d.ns.pod.cluster.local`, CNAME for ExternalName
 * services. Only cluster names are answered: nothing is forwarded off the machine.
 */
import dgram from "node:dgram";
import net from "node:net";

export const CLUSTER_DOMAIN = "cluster.local";

export type DnsAnswer = { type: "A"; address: string } | { type: "CNAME"; name: string };

/** Resolves a fully qualified name (lower case, no trailing dot): answers, [] (no data), or null (no such name). */
export type DnsLookup = (name: string) => DnsAnswer[] | null;

const TYPE = { A: 1, CNAME: 5, AAAA: 28 } as const;

interface Question {
  name: string;
  type: number;
  end: number;
}

function readQuestion(message: Buffer): Question | null {
  if (message.length < 12 || message.readUInt16BE(4) < 1) return null;
  const labels: string[] = [];
  let offset = 12;
  while (offset < message.length) {
    const length = message[offset] as number;
    if (length === 0) break;
    if (length > 63) return null;
    labels.push(message.subarray(offset + 1, offset + 1 + length).toString("ascii"));
    offset += length + 1;
  }
  if (offset + 5 > message.length) return null;
  return { name: labels.join(".").toLowerCase(), type: message.readUInt16BE(offset + 1), end: offset + 5 };
}

function encodeName(name: string): Buffer {
  const parts = name.split(".").filter(Boolean).map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, "ascii")]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

/** Builds the response to one query message. */
export function answerQuery(message: Buffer, lookup: DnsLookup): Buffer | null {
  const question = readQuestion(message);
  if (!question) return null;
  const answers = lookup(question.name);
  const records: Buffer[] = [];
  let owner: Buffer = Buffer.from([0xc0, 0x0c]);
  for (const answer of answers ?? []) {
    if (answer.type === "CNAME") {
      const target = encodeName(answer.name);
      records.push(record(owner, TYPE.CNAME, target));
      owner = target;
    } else if (question.type === TYPE.A || question.type === 255) {
      records.push(record(owner, TYPE.A, Buffer.from(answer.address.split(".").map(Number))));
    }
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(message.readUInt16BE(0), 0);
  const rd = message.readUInt16BE(2) & 0x0100;
  const rcode = answers === null ? 3 : 0;
  header.writeUInt16BE(0x8000 | 0x0400 | rd | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  return Buffer.concat([header, message.subarray(12, question.end), ...records]);
}

function record(owner: Buffer, type: number, data: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(5, 4);
  fixed.writeUInt16BE(data.length, 8);
  return Buffer.concat([owner, fixed, data]);
}

export interface DnsServer {
  close(): Promise<void>;
}

export async function startDnsServer(address: string, port: number, lookup: DnsLookup): Promise<DnsServer> {
  const udp = dgram.createSocket("udp4");
  udp.on("message", (message, remote) => {
    const response = answerQuery(message, lookup);
    if (response) udp.send(response, remote.port, remote.address);
  });
  const tcp = net.createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        const response = answerQuery(buffered.subarray(2, 2 + length), lookup);
        buffered = buffered.subarray(2 + length);
        if (response) socket.write(Buffer.concat([Buffer.from([response.length >> 8, response.length & 0xff]), response]));
      }
    });
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind(port, address, () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, address, () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        udp.close();
        tcp.close(() => resolve());
      }),
  };
}
