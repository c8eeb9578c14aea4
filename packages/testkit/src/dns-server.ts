import { createSocket, type RemoteInfo } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * A tiny authoritative DNS responder on 127.0.0.1 for tests (RFC 1035 wire format, A and AAAA only),
 * so that `dns.Resolver#setServers(['127.0.0.1:PORT'])` can be pointed at names whose fate the test
 * decides: answered, NXDOMAIN, SERVFAIL, REFUSED, or never answered (the resolver times out).
 * Not a general server: one question per query, no compression in questions, no TCP.
 */

export interface DnsZone {
  /** Names that resolve, with their addresses. A name with no address of the asked type gets NODATA. */
  readonly records?: Readonly<Record<string, { readonly a?: readonly string[]; readonly aaaa?: readonly string[] }>>;
  /** Names whose queries are dropped: the client sees a timeout. */
  readonly silent?: readonly string[];
  /** Names answered with SERVFAIL (rcode 2): the resolver, not the name, is at fault. */
  readonly servfail?: readonly string[];
  /** Names answered with REFUSED (rcode 5). */
  readonly refused?: readonly string[];
  /** Every other name gets NXDOMAIN (rcode 3). */
}

export interface DnsQuery {
  readonly name: string;
  /** 1 = A, 28 = AAAA, others as numbers. */
  readonly type: number;
}

export interface DnsServer {
  readonly port: number;
  /** `127.0.0.1:PORT`, the form `Resolver#setServers` takes. */
  readonly server: string;
  /** Every question seen, in order (for asserting what a client asked). */
  readonly queries: DnsQuery[];
  close(): Promise<void>;
}

const HEADER_BYTES = 12;
/** RFC 1035 §2.3.4: a UDP message is at most 512 bytes without EDNS; c-ares queries are far smaller. */
const MAX_QUERY_BYTES = 512;
/** RFC 1035 §2.3.4: labels are 63 bytes or less, names 255 or less. */
const MAX_LABEL_BYTES = 63;
const MAX_NAME_BYTES = 255;
const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const RCODE_OK = 0;
const RCODE_FORMERR = 1;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const RCODE_REFUSED = 5;
/** Short TTL so nothing downstream caches a test answer for long. */
const ANSWER_TTL_S = 5;

interface Question {
  readonly name: string;
  readonly type: number;
  readonly qclass: number;
  /** The raw question bytes, echoed exactly (a resolver using 0x20 case randomisation compares them). */
  readonly raw: Buffer;
}

/** Parses the single question of a query; undefined when the packet is malformed. Every read is bounds-checked. */
export function parseQuestion(packet: Buffer): Question | undefined {
  if (packet.length < HEADER_BYTES || packet.length > MAX_QUERY_BYTES) return undefined;
  if (packet.readUInt16BE(4) !== 1) return undefined; // qdcount: exactly one question
  const labels: string[] = [];
  let at = HEADER_BYTES;
  let nameBytes = 0;
  for (;;) {
    if (at >= packet.length) return undefined;
    const len = packet[at]!;
    at++;
    if (len === 0) break;
    if (len > MAX_LABEL_BYTES) return undefined; // also rejects compression pointers (0xC0…)
    nameBytes += len + 1;
    if (nameBytes > MAX_NAME_BYTES || at + len > packet.length) return undefined;
    labels.push(packet.toString('latin1', at, at + len));
    at += len;
  }
  if (at + 4 > packet.length) return undefined;
  const type = packet.readUInt16BE(at);
  const qclass = packet.readUInt16BE(at + 2);
  at += 4;
  return { name: labels.join('.').toLowerCase(), type, qclass, raw: packet.subarray(HEADER_BYTES, at) };
}

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

function ipv6Bytes(ip: string): Buffer {
  const [head = '', tail] = ip.split('::');
  const part = (s: string | undefined): number[] => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const h = part(head);
  const t = part(tail);
  const groups = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(g, i * 2));
  return b;
}

/** Builds the reply to `query` with `rcode` and the given answer addresses. */
export function buildReply(query: Buffer, q: Question | undefined, rcode: number, answers: readonly Buffer[] = []): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(query.length >= 2 ? query.readUInt16BE(0) : 0, 0);
  const reqFlags = query.length >= 4 ? query.readUInt16BE(2) : 0;
  // QR=1, opcode copied, AA=1, RD copied, RA=1, rcode.
  const flags = 0x8000 | (reqFlags & 0x7800) | 0x0400 | (reqFlags & 0x0100) | 0x0080 | (rcode & 0x0f);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(q ? 1 : 0, 4);
  header.writeUInt16BE(answers.length, 6);
  const parts: Buffer[] = [header];
  if (q) parts.push(q.raw);
  for (const rdata of answers) {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc000 | HEADER_BYTES, 0); // name: pointer to the question's name
    rr.writeUInt16BE(q?.type ?? TYPE_A, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(ANSWER_TTL_S, 6);
    rr.writeUInt16BE(rdata.length, 10);
    parts.push(rr, rdata);
  }
  return Buffer.concat(parts);
}

function lowerSet(names: readonly string[] | undefined): Set<string> {
  return new Set((names ?? []).map((n) => n.toLowerCase()));
}

/** Starts the responder on 127.0.0.1, port 0. */
export async function startDnsServer(zone: DnsZone): Promise<DnsServer> {
  const records = new Map(Object.entries(zone.records ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  for (const [name, r] of records) {
    for (const ip of r.a ?? []) if (!isIPv4(ip)) throw new Error(`dns-server: ${name}: ${ip} is not IPv4`);
    for (const ip of r.aaaa ?? []) if (!isIPv6(ip) || ip.includes('.')) throw new Error(`dns-server: ${name}: ${ip} is not plain IPv6`);
  }
  const silent = lowerSet(zone.silent);
  const servfail = lowerSet(zone.servfail);
  const refused = lowerSet(zone.refused);
  const queries: DnsQuery[] = [];
  const socket = createSocket('udp4');

  socket.on('message', (msg: Buffer, from: RemoteInfo) => {
    const q = parseQuestion(msg);
    if (q) queries.push({ name: q.name, type: q.type });
    let reply: Buffer;
    if (!q) {
      reply = buildReply(msg, undefined, RCODE_FORMERR);
    } else if (silent.has(q.name)) {
      return;
    } else if (servfail.has(q.name)) {
      reply = buildReply(msg, q, RCODE_SERVFAIL);
    } else if (refused.has(q.name)) {
      reply = buildReply(msg, q, RCODE_REFUSED);
    } else {
      const r = records.get(q.name);
      if (!r) {
        reply = buildReply(msg, q, RCODE_NXDOMAIN);
      } else {
        const answers = q.qclass !== CLASS_IN ? [] : q.type === TYPE_A ? (r.a ?? []).map(ipv4Bytes) : q.type === TYPE_AAAA ? (r.aaaa ?? []).map(ipv6Bytes) : [];
        reply = buildReply(msg, q, RCODE_OK, answers);
      }
    }
    socket.send(reply, from.port, from.address);
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const port = socket.address().port;
  let closed = false;
  return {
    port,
    server: `127.0.0.1:${port}`,
    queries,
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        socket.close(() => resolve());
      }),
  };
}
