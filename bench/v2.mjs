#!/usr/bin/env node
// BitTorrent v2 download benchmark (issue 13): the same data as a v1 and as a v2-only torrent (1 MiB
// pieces, made by libtorrent), each served by a python3-libtorrent seeder on 127.0.0.1; tc-download
// fetches both in alternating rounds. v2 verifies by SHA-256 merkle trees (16 KiB leaves) where v1
// hashes whole pieces with SHA-1. Prints medians and the v2/v1 ratio (the issue asks within 10%).
//
//   node bench/v2.mjs [--gib 1] [--rounds 3] [--json]
//
// Run it inside a private network namespace so nothing leaves loopback:
//   unshare --net -- sh -c 'ip link set lo up && node bench/v2.mjs'
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './common.mjs';
import { LT_SCRIPT, PY, ltPeer } from './lt.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const TC_BIN = join(here, '..', 'apps/download/bin/tc-download.js');
const PIECE = 1024 * 1024;

const { values: opt } = parseArgs({
  options: {
    gib: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const SIZE = Math.round(Number(opt.gib) * 1024 ** 3);
const ROUNDS = Number(opt.rounds);
const log = (s) => process.stderr.write(`${s}\n`);

function timed(cmd, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('/usr/bin/time', ['-v', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stdout.resume();
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => {
      const wall = (performance.now() - t0) / 1000;
      const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(err)?.[1] ?? 0) / 1024;
      const cpu = Number(/User time \(seconds\): ([\d.]+)/.exec(err)?.[1] ?? 0) + Number(/System time \(seconds\): ([\d.]+)/.exec(err)?.[1] ?? 0);
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${err.slice(-1500)}`));
      else resolve({ wall, rssMb: rss, cpu });
    });
  });
}

async function makeData(dir) {
  const file = join(dir, 'seed', 'bench.bin');
  await mkdir(dirname(file), { recursive: true });
  const block = randomBytes(64 * 1024 * 1024);
  const ws = createWriteStream(file);
  for (let off = 0, n = 0; off < SIZE; off += block.length, n++) {
    block.writeUInt32LE(n, 0);
    if (!ws.write(Buffer.from(block.subarray(0, Math.min(block.length, SIZE - off))))) await new Promise((r) => ws.once('drain', r));
  }
  await new Promise((r) => ws.end(r));
  const torrents = {};
  for (const [kind, flags] of [
    ['v1', {}],
    ['v2', { v2Only: true }],
  ]) {
    const torrent = join(dir, `bench-${kind}.torrent`);
    const r = spawnSync(PY, [LT_SCRIPT, JSON.stringify({ mode: 'create', dataPath: file, torrentPath: torrent, pieceLength: PIECE, ...flags })]);
    if (r.status !== 0) throw new Error(`torrent creation failed: ${r.stdout}${r.stderr}`);
    torrents[kind] = torrent;
  }
  return { file, torrents };
}

async function fileSha1(path) {
  const h = createHash('sha1');
  for await (const c of createReadStream(path)) h.update(c);
  return h.digest('hex');
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'tc-bench-v2-'));
  log(`bench/v2: ${(SIZE / 1024 ** 3).toFixed(2)} GiB, 1 MiB pieces, ${ROUNDS} rounds, tc v1 vs tc v2`);
  const { file, torrents } = await makeData(dir);
  const seeders = {};
  const results = { v1: [], v2: [] };
  try {
    for (const kind of ['v1', 'v2']) {
      const s = ltPeer({ torrentPath: torrents[kind], savePath: dirname(file), seed: true });
      seeders[kind] = { peer: s, port: (await s.waitFor('listening')).port };
      await s.waitFor('finished');
    }
    const want = await fileSha1(file);
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order so neither always runs first on a cold cache.
      for (const kind of r % 2 === 0 ? ['v1', 'v2'] : ['v2', 'v1']) {
        const out = join(dir, `out-${kind}-${r}`);
        await mkdir(out, { recursive: true });
        const res = await timed(process.execPath, [
          TC_BIN,
          torrents[kind],
          '-o',
          out,
          '--peer',
          `127.0.0.1:${seeders[kind].port}`,
          '--listen',
          '127.0.0.1',
          '--quiet',
          '--first-peer-timeout',
          '30',
        ]);
        const got = join(out, 'bench.bin');
        if ((await stat(got)).size !== SIZE) throw new Error(`${kind}: wrong size`);
        if (r === 0 && (await fileSha1(got)) !== want) throw new Error(`${kind}: data differs`);
        results[kind].push(res);
        log(
          `round ${r + 1} tc ${kind} ${res.wall.toFixed(2)} s  ${(SIZE / 1e6 / res.wall).toFixed(0)} MB/s  RSS ${res.rssMb.toFixed(0)} MB  CPU ${res.cpu.toFixed(2)} s`,
        );
        await rm(out, { recursive: true, force: true });
      }
    }
  } finally {
    for (const s of Object.values(seeders)) await s.peer.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const summary = Object.fromEntries(
    Object.entries(results).map(([k, rs]) => [
      k,
      { wallS: median(rs.map((x) => x.wall)), cpuS: median(rs.map((x) => x.cpu)), rssMb: median(rs.map((x) => x.rssMb)) },
    ]),
  );
  const ratio = summary.v2.wallS / summary.v1.wallS;
  if (opt.json) console.log(JSON.stringify({ sizeBytes: SIZE, rounds: ROUNDS, node: process.version, ...summary, v2OverV1: ratio }));
  else {
    console.log(`median of ${ROUNDS} rounds, ${(SIZE / 1024 ** 3).toFixed(2)} GiB, node ${process.version}`);
    console.log('torrent   wall s   MB/s   CPU s   RSS MB');
    for (const [k, s] of Object.entries(summary)) {
      console.log(
        `tc ${k}   ${s.wallS.toFixed(2).padStart(6)}  ${(SIZE / 1e6 / s.wallS).toFixed(0).padStart(5)}  ${s.cpuS.toFixed(2).padStart(6)}  ${s.rssMb.toFixed(0).padStart(6)}`,
      );
    }
    console.log(`v2 / v1 wall time: ${ratio.toFixed(2)}`);
  }
}

main().catch((e) => {
  log(e.stack ?? String(e));
  process.exit(1);
});
