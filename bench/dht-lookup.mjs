#!/usr/bin/env node
// DHT lookups (issue 11): a loopback DHT of about 50 nodes, libtorrent's (python3-libtorrent
// sessions, all in one python process) and ours (tc's DhtNode, in this process), joined through a
// few random introductions each. Each round one node (libtorrent's and ours in turn) announces a
// fresh info-hash; then one of our nodes and one libtorrent node look it up. Reported per
// implementation: queries sent per lookup (ours: the lookup's counter; libtorrent: the INVOKE lines
// of its traversal log), time to the first peer, time to the end of the lookup, and how often the
// announced peer was found.
//
//   node bench/dht-lookup.mjs [--lt 25] [--ours 25] [--rounds 10] [--settle 30] [--json]
//
// Run it in a private network namespace so nothing leaves loopback:
//   unshare --net -- sh -c 'ip link set lo up && node bench/dht-lookup.mjs'
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bindDhtNode } from '@tc/dht';
import { median } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const LT_DHT = join(here, '../packages/testkit/py/lt_dht.py');
const { values: opt } = parseArgs({
  options: {
    lt: { type: 'string', default: '25' },
    ours: { type: 'string', default: '25' },
    rounds: { type: 'string', default: '10' },
    settle: { type: 'string', default: '30' },
    json: { type: 'boolean', default: false },
  },
});
const LT = Number(opt.lt);
const OURS = Number(opt.ours);
const ROUNDS = Number(opt.rounds);
/** Introductions per node: each joins knowing this many random others. */
const INTRODUCTIONS = 3;
/** How long a libtorrent lookup may take before the round gives up on it. */
const LT_LOOKUP_TIMEOUT_MS = 20_000;
const log = (s) => process.stderr.write(`${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pick = (xs, n) => [...xs].sort(() => Math.random() - 0.5).slice(0, n);

/** The libtorrent sessions: one python process, events per session index. */
function startLibtorrent(count, savePath) {
  const lookupers = Array.from({ length: Math.min(count, ROUNDS) }, (_, i) => i);
  const child = spawn('/usr/bin/python3', [LT_DHT, JSON.stringify({ count, savePath, logTraversals: lookupers })], { stdio: ['pipe', 'pipe', 'inherit'] });
  const listeners = new Set();
  const ports = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    let e;
    try {
      e = JSON.parse(line);
    } catch {
      return;
    }
    e.at = performance.now();
    if (e.event === 'listening') ports[e.node] = e.port;
    if (e.event === 'error') log(`libtorrent: ${e.message}`);
    for (const l of [...listeners]) l(e);
  });
  const send = (cmd) => child.stdin.write(`${JSON.stringify(cmd)}\n`);
  const waitFor = (pred, timeoutMs) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(on);
        reject(new Error('timeout'));
      }, timeoutMs);
      const on = (e) => {
        if (!pred(e)) return;
        clearTimeout(timer);
        listeners.delete(on);
        resolve(e);
      };
      listeners.add(on);
    });
  return { child, ports, send, waitFor, listeners, stop: () => new Promise((r) => (child.once('exit', r), child.stdin.end())) };
}

/** A libtorrent lookup of `ih` from session `node`: queries from its traversal log, timings, peers. */
async function ltLookup(lt, node, ih, wantPort) {
  const t0 = performance.now();
  let tid;
  let invokes = 0;
  let firstPeerMs;
  let found = false;
  const on = (e) => {
    if (e.node !== node) return;
    if (e.event === 'get-peers' && e.infoHash === ih && e.peers.length > 0) {
      firstPeerMs ??= e.at - t0;
      if (e.peers.some((p) => p.port === wantPort)) found = true;
    }
    if (e.event !== 'log') return;
    const m = /\[(\d+)\] (NEW target: ([0-9a-f]{40})|INVOKE|COMPLETED)/.exec(e.message);
    if (!m) return;
    if (m[3] === ih) tid = m[1];
    else if (m[1] === tid && m[2] === 'INVOKE') invokes++;
  };
  lt.listeners.add(on);
  lt.send({ cmd: 'get-peers', infoHash: ih, node });
  try {
    const done = await lt.waitFor(
      (e) => e.node === node && e.event === 'log' && tid !== undefined && e.message.includes(`[${tid}] COMPLETED`),
      LT_LOOKUP_TIMEOUT_MS,
    );
    return { queries: invokes, ms: done.at - t0, firstPeerMs, found };
  } catch {
    return { queries: invokes, ms: undefined, firstPeerMs, found };
  } finally {
    lt.listeners.delete(on);
  }
}

const dir = await mkdtemp(join(tmpdir(), 'tc-dht-bench-'));
const lt = startLibtorrent(LT, dir);
await lt.waitFor(() => lt.ports.filter(Boolean).length === LT, 30_000);
const ours = [];
for (let i = 0; i < OURS; i++) ours.push(await bindDhtNode({}));
const all = [...lt.ports.map((port) => ({ kind: 'lt', port })), ...ours.map((o) => ({ kind: 'tc', port: o.port }))];
log(`${LT} libtorrent nodes and ${OURS} of ours on 127.0.0.1; each introduced to ${INTRODUCTIONS} others`);
// Introductions: everyone learns a few random others (both kinds).
lt.ports.forEach((port, node) => {
  for (const o of pick(
    all.filter((x) => x.port !== port),
    INTRODUCTIONS,
  ))
    lt.send({ cmd: 'add-node', node, ip: '127.0.0.1', port: o.port });
});
await Promise.all(
  ours.map((o) =>
    o.node.bootstrap(
      pick(
        all.filter((x) => x.port !== o.port),
        INTRODUCTIONS,
      ).map((x) => ({ ip: '127.0.0.1', port: x.port })),
    ),
  ),
);
const settleMs = Number(opt.settle) * 1000;
log(`letting the tables fill for ${settleMs / 1000} s`);
await sleep(settleMs / 2);
await Promise.all(ours.map((o) => o.node.bootstrap()));
await sleep(settleMs / 2);
const ourTables = ours.map((o) => o.node.stats().nodes[4]);
const ltTables = [];
for (let node = 0; node < LT; node++) {
  lt.send({ cmd: 'counters', node });
  ltTables.push((await lt.waitFor((e) => e.event === 'counters' && e.node === node, 10_000)).values['dht.dht_nodes']);
}
log(
  `routing-table sizes: ours median ${median(ourTables)} (min ${Math.min(...ourTables)}), libtorrent median ${median(ltTables)} (min ${Math.min(...ltTables)})`,
);

const results = { tc: [], libtorrent: [] };
for (let round = 0; round < ROUNDS; round++) {
  const ih = randomBytes(20).toString('hex');
  // The announcer alternates: libtorrent's (its listen port) and ours (a made-up port).
  let port;
  if (round % 2 === 0) {
    const node = (round / 2) % LT;
    port = lt.ports[node];
    lt.send({ cmd: 'announce', infoHash: ih, node });
    await sleep(3_000); // libtorrent has no completion alert for an announce
  } else {
    port = 30_000 + round;
    await ours[(round * 7) % OURS].node.announce(Buffer.from(ih, 'hex'), port).done;
  }
  const searcher = ours[(round * 3 + 1) % OURS].node;
  const r = await searcher.lookup(Buffer.from(ih, 'hex')).done;
  results.tc.push({ queries: r.stats.queried, ms: r.durationMs, firstPeerMs: r.firstPeerMs, found: r.peers.some((p) => p.port === port), hops: r.stats.hops });
  const l = await ltLookup(lt, round % Math.min(LT, ROUNDS), ih, port);
  results.libtorrent.push(l);
  log(
    `round ${round + 1}: announced by ${round % 2 === 0 ? 'libtorrent' : 'ours'}; ours ${r.stats.queried} queries ${r.durationMs.toFixed(0)} ms found=${results.tc.at(-1).found}; ` +
      `libtorrent ${l.queries} queries ${l.ms?.toFixed(0) ?? '—'} ms found=${l.found}`,
  );
}

const summary = (rs) => ({
  lookups: rs.length,
  found: rs.filter((r) => r.found).length,
  medianQueries: median(rs.map((r) => r.queries)),
  meanQueries: Number((rs.reduce((a, r) => a + r.queries, 0) / rs.length).toFixed(1)),
  medianMs: median(rs.filter((r) => r.ms !== undefined).map((r) => r.ms)),
  medianFirstPeerMs: median(rs.filter((r) => r.firstPeerMs !== undefined).map((r) => r.firstPeerMs)),
});
const out = {
  schema: 1,
  nodes: { libtorrent: LT, ours: OURS },
  tables: { ours: median(ourTables), libtorrent: median(ltTables) },
  tc: summary(results.tc),
  libtorrent: summary(results.libtorrent),
  rounds: results,
};
if (opt.json) console.log(JSON.stringify(out, null, 2));
else {
  console.log(`dht lookups: ${LT} libtorrent + ${OURS} tc nodes on loopback, ${ROUNDS} rounds, node ${process.version}`);
  console.log('implementation  found  queries/lookup (median, mean)  lookup ms (median)  first peer ms (median)');
  for (const [name, s] of [
    ['tc', out.tc],
    ['libtorrent', out.libtorrent],
  ]) {
    const f = (x) => (x === undefined ? '—' : x.toFixed(0));
    console.log(
      `${name.padEnd(16)}${`${s.found}/${s.lookups}`.padEnd(7)}${`${s.medianQueries}, ${s.meanQueries}`.padEnd(31)}${f(s.medianMs).padEnd(20)}${f(s.medianFirstPeerMs)}`,
    );
  }
}
await Promise.all(ours.map((o) => o.close()));
await lt.stop();
await rm(dir, { recursive: true, force: true });
