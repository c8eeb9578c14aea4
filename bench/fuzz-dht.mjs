#!/usr/bin/env node
// DHT fuzz (issue 11): a million malformed and hostile KRPC datagrams (mutations of valid messages,
// random KRPC-shaped bencode, hand-made attacks: see packages/dht/src/fuzz.ts) through the decoder
// and into a live node on a manual clock. Fails (exit 1) if anything but a DhtError comes out of
// the decoder, if the node throws, or if its heap grows past the bound.
//
//   node bench/fuzz-dht.mjs [--count 1000000] [--seed 1] [--json]      (after a build of @tc/dht)
import { parseArgs } from 'node:util';
import { ManualClock } from '@tc/clock';
import { DhtError, DhtNode, decodeKrpc, hostileKrpcDatagrams } from '@tc/dht';
import { ensureExposedGc } from './common.mjs';

ensureExposedGc();
const { values: opt } = parseArgs({
  options: { count: { type: 'string', default: '1000000' }, seed: { type: 'string', default: '1' }, json: { type: 'boolean', default: false } },
});
const COUNT = Number(opt.count);
/** The DHT's share of the heap may not grow past this, however long the flood. */
const BOUND_BYTES = 20 * 1024 * 1024;
const SAMPLE_EVERY = 100_000;

const heap = () => {
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};

const clock = new ManualClock();
let sent = 0;
const node = new DhtNode({ clock, localPort: 6881, transport: { send: () => sent++ } });
node.start();
const base = heap();
const codes = {};
let decoded = 0;
let maxGrowth = 0;
const failures = [];
const t0 = performance.now();
let i = 0;
for (const d of hostileKrpcDatagrams(Number(opt.seed), COUNT, node.id)) {
  try {
    decodeKrpc(d);
    decoded++;
  } catch (e) {
    if (e instanceof DhtError) codes[e.code] = (codes[e.code] ?? 0) + 1;
    else if (failures.length < 10) failures.push(`decoder threw ${String(e)} on ${d.toString('hex').slice(0, 120)}`);
  }
  try {
    // From many addresses, as a flood would come; a millisecond apart so timers run.
    node.receive(d, { ip: `20.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 1024 + (i % 60_000) });
  } catch (e) {
    if (failures.length < 10) failures.push(`node threw ${String(e)}`);
  }
  clock.advance(1);
  if (++i % SAMPLE_EVERY === 0) maxGrowth = Math.max(maxGrowth, heap() - base);
}
clock.advance(60_000);
const seconds = (performance.now() - t0) / 1000;
const growth = heap() - base;
maxGrowth = Math.max(maxGrowth, growth);
const s = node.stats();
node.stop();
const result = {
  schema: 1,
  datagrams: COUNT,
  seconds: Number(seconds.toFixed(1)),
  perSecond: Math.round(COUNT / seconds),
  decoded,
  errors: codes,
  node: {
    answered: Object.values(s.queriesIn).reduce((a, b) => a + b, 0),
    dropped: s.dropped,
    sent,
    tableNodes: s.nodes[4],
    storedPeers: s.storedPeers,
    rateLimitKeys: s.rateLimitKeys,
  },
  heapGrowthMb: Number((growth / 2 ** 20).toFixed(2)),
  maxHeapGrowthMb: Number((maxGrowth / 2 ** 20).toFixed(2)),
  failures,
};
if (opt.json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`dht fuzz: ${COUNT} datagrams in ${result.seconds} s (${result.perSecond}/s), node ${process.version}`);
  console.log(
    `decoded ${decoded}; refused: ${Object.entries(codes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  console.log(
    `node: answered ${result.node.answered}, dropped ${JSON.stringify(s.dropped)}, table ${s.nodes[4]}, stored peers ${s.storedPeers}, rate-limit keys ${s.rateLimitKeys}`,
  );
  console.log(`heap growth: ${result.heapGrowthMb} MB at the end, ${result.maxHeapGrowthMb} MB at most (bound ${BOUND_BYTES / 2 ** 20} MB)`);
  for (const f of failures) console.log(`FAIL ${f}`);
}
process.exit(failures.length > 0 || maxGrowth > BOUND_BYTES ? 1 : 0);
