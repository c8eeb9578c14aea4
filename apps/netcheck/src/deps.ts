import type { Io } from '@tc/cli';
import { generatePeerId } from '@tc/wire';
import { randomBytes } from 'node:crypto';
import { lookup, Resolver } from 'node:dns/promises';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Clock } from './checks/types.js';
import type { Network, NetcheckDeps } from './netcheck.js';
import { findPortOwner } from './proc-owner.js';
import { announceTo, bindProbe, handshakePeer, probeTracker, proberFor, type ProbeContext } from './probes.js';

export const systemClock: Clock = { mono: () => performance.now(), wall: () => Date.now() };

/** A harmless info-hash to scrape with when no torrent was given: trackers answer "unknown torrent". */
const PROBE_INFO_HASH = Buffer.alloc(20, 0);

/** c-ares tries per lookup: one retry inside the probe's budget. */
const DNS_TRIES = 2;

/**
 * The real dependencies: this machine's interfaces, sockets, resolver (or the --dns-server ones) and
 * /proc.
 */
export function realDeps(opts: { dnsServers: readonly string[]; probeTimeoutMs: number; io: Io }): NetcheckDeps {
  const resolver = new Resolver({ timeout: Math.max(100, Math.floor(opts.probeTimeoutMs / DNS_TRIES)), tries: DNS_TRIES });
  if (opts.dnsServers.length > 0) resolver.setServers([...opts.dnsServers]);
  const clock = systemClock;
  return {
    clock,
    interfaces: networkInterfaces,
    bind: bindProbe,
    owner: (transport, port) =>
      findPortOwner({ readFile: (p) => readFile(p, 'utf8'), readdir: (p) => readdir(p), readlink: (p) => readlink(p) }, transport, port),
    resolver,
    lookupLocalhost: async () => (await lookup('localhost', { all: true })).map((a) => a.address),
    env: opts.io.env,
    peerId: generatePeerId,
    announceKey: () => randomBytes(4).readUInt32BE(0),
    ...(opts.io.signal ? { signal: opts.io.signal } : {}),
    network: (book, probeTimeoutMs, infoHash): Network => {
      const ctx: ProbeContext = { book, prober: proberFor(book, probeTimeoutMs, clock.wall), infoHash: infoHash ?? PROBE_INFO_HASH };
      return {
        probeTracker: (url, signal) => probeTracker(ctx, url, signal),
        announce: (url, req, signal) => announceTo(ctx, url, req, signal),
        handshake: (peer, ih, peerId, signal) => handshakePeer(peer, ih, peerId, probeTimeoutMs, signal),
        close: () => ctx.prober.close(),
      };
    },
  };
}
