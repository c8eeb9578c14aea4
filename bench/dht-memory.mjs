#!/usr/bin/env node
// DHT memory (issue 11): one node answers 100,000 queries from 10,000 addresses (ping, find_node,
// get_peers, and an announce_peer with the token each get_peers gave, so the peer store fills to
// its caps) on a manual clock. Prints the heap the node holds afterwards (after a full GC) and the
// process's peak RSS; exits 1 past the bound (20 MB for the DHT's share).
//
//   node bench/dht-memory.mjs [--queries 100000] [--addresses 10000] [--json]   (after a build of @tc/dht)
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ManualClock } from '@tc/clock';
import { DhtNode, decodeKrpc, encodeQuery } from '@tc/dht';
import { ensureExposedGc } from './common.mjs';

ensureExposedGc();
const { values: opt } = parseArgs({
  options: { queries: { type: 'string', default: '100000' }, addresses: { type: 'string', default: '10000' }, json: { type: 'boolean', default: false } },
});
const QUERIES = Number(opt.queries);
const ADDRESSES = Number(opt.addresses);
const BOUND_BYTES = 20 * 1024 * 1024;

const heap = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};

const before = heap();
const clock = new ManualClock();
let sent = [];
const node = new DhtNode({ clock, localPort: 6881, transport: { send: (d) => sent.push(d) } });
node.start();
const hashes = Array.from({ length: 1_000 }, (_, i) => createHash('sha1').update(`h${i}`).digest());
const ids = Array.from({ length: ADDRESSES }, (_, a) => createHash('sha1').update(`n${a}`).digest());
const t = Buffer.from('tt');
const t0 = performance.now();
let answered = 0;
let announces = 0;
for (let i = 0; i < QUERIES; i++) {
  const a = i % ADDRESSES;
  const from = { ip: `20.${(a >> 8) & 255}.${a & 255}.7`, port: 6881 + (a % 1000) };
  const id = ids[a];
  const infoHash = hashes[(i * 7) % hashes.length];
  const kind = i % 5;
  const q = kind === 0 ? { method: 'ping', id } : kind === 1 ? { method: 'find_node', id, target: infoHash } : { method: 'get_peers', id, infoHash };
  sent = [];
  node.receive(encodeQuery(t, q), from);
  const reply = sent[0] ? decodeKrpc(sent[0]) : undefined;
  if (reply?.type === 'response') answered++;
  if (kind >= 2 && reply?.type === 'response' && reply.r.token) {
    node.receive(encodeQuery(t, { method: 'announce_peer', id, infoHash, port: 1024 + (i % 60_000), token: reply.r.token, impliedPort: false }), from);
    announces++;
  }
  clock.advance(2);
}
clock.advance(10_000);
const seconds = (performance.now() - t0) / 1000;
const used = heap() - before;
const s = node.stats();
const result = {
  schema: 1,
  queries: QUERIES,
  announces,
  addresses: ADDRESSES,
  answered,
  seconds: Number(seconds.toFixed(1)),
  storedInfoHashes: s.storedInfoHashes,
  storedPeers: s.storedPeers,
  rateLimitKeys: s.rateLimitKeys,
  heapHeldMb: Number((used / 2 ** 20).toFixed(2)),
  peakRssMb: Number((process.resourceUsage().maxRSS / 1024).toFixed(0)),
  boundMb: BOUND_BYTES / 2 ** 20,
};
node.stop();
if (opt.json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`dht memory: ${QUERIES} queries (+${announces} announces) from ${ADDRESSES} addresses in ${result.seconds} s, node ${process.version}`);
  console.log(`answered ${answered}; stored ${s.storedPeers} peers under ${s.storedInfoHashes} info-hashes; ${s.rateLimitKeys} rate-limit entries`);
  console.log(`heap held by the node: ${result.heapHeldMb} MB (bound ${result.boundMb} MB); process peak RSS ${result.peakRssMb} MB`);
}
process.exit(used > BOUND_BYTES ? 1 : 0);
