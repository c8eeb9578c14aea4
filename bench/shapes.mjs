#!/usr/bin/env node
// Performance across torrent shapes (issue 16): tc beside python3-libtorrent (and webtorrent where
// asked) on the seven shapes of the issue, each in one run, clients back to back per round.
//
//   node bench/shapes.mjs [--shape 1,2,2k,3,4,5,5p,6,7] [--full] [--rounds 3] [--clients tc,libtorrent]
//                         [--cap-mb 16] [--json] [--keep]
//
// Shapes (small default size / --full size):
//   1   one file, 1 MiB pieces, one seeder                    128 MiB / 1 GiB
//   2   one file, 32 KiB pieces (libtorrent's creator)         64 MiB / 512 MiB
//   2k  one file, 16 KiB pieces (tc-create: mktorrent refuses) 64 MiB / 512 MiB
//   3   one file, 16 MiB pieces                               256 MiB / 1 GiB
//   4   2,000 / 10,000 files of 1–100 KiB, 256 KiB pieces
//   5   8 libtorrent seeders, each capped at --cap-mb MB/s    128 MiB / 1 GiB
//   5p  4 partial libtorrent seeders (each holds half the pieces, each piece on two)
//   6   upload: tc-seed vs a libtorrent seeder serving 4 libtorrent leechers at once
//   7   re-check of complete data (tc-download --recheck vs libtorrent's check on add), and start-up
//       with valid resume data (tc's .tc-resume vs libtorrent's seed_mode)   256 MiB / 4 GiB
//
// Every client runs as its own process under /usr/bin/time -v (wall from spawn to exit, so start-up
// counts; CPU = user + system; peak RSS), except the seeders of shape 6, measured from /proc while
// they serve. Run it in a private network namespace so nothing leaves loopback:
//   unshare --net -- sh -c 'ip link set lo up && node bench/shapes.mjs --shape 2'
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from './common.mjs';
import { LT_SCRIPT, PY } from './lt.mjs';
import {
  BIN,
  here,
  freePort,
  log,
  longRunning,
  ltChecked,
  ltProc,
  makeTorrent,
  procStats,
  timed,
  treeSha1,
  writeMany,
  writePartial,
  writeSingle,
} from './shapes-lib.mjs';

const { values: opt } = parseArgs({
  options: {
    shape: { type: 'string', default: '1,2,2k,3,4,5,5p,6,7' },
    full: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: 'tc,libtorrent' },
    'cap-mb': { type: 'string', default: '16' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const MiB = 1024 * 1024;
const FULL = opt.full;
const ROUNDS = Number(opt.rounds);
const CLIENTS = opt.clients.split(',').filter(Boolean);
const CAP = Number(opt['cap-mb']) * 1e6;

const SHAPES = {
  1: { title: '1 MiB pieces, 1 seeder', size: FULL ? 1024 * MiB : 128 * MiB, piece: MiB },
  2: { title: '32 KiB pieces, 1 seeder', size: FULL ? 512 * MiB : 64 * MiB, piece: 32 * 1024 },
  '2k': { title: '16 KiB pieces (tc-create), 1 seeder', size: FULL ? 512 * MiB : 64 * MiB, piece: 16 * 1024, maker: 'tc' },
  3: { title: '16 MiB pieces, 1 seeder', size: FULL ? 1024 * MiB : 256 * MiB, piece: 16 * MiB },
  4: { title: `${FULL ? '10,000' : '2,000'} files of 1-100 KiB, 1 seeder`, files: FULL ? 10_000 : 2000, piece: 256 * 1024 },
  5: { title: `8 seeders capped at ${opt['cap-mb']} MB/s each`, size: FULL ? 1024 * MiB : 128 * MiB, piece: MiB, seeders: 8 },
  '5p': { title: '4 partial seeders (each piece on 2)', size: FULL ? 1024 * MiB : 128 * MiB, piece: MiB, partial: 4 },
  6: { title: 'upload to 4 libtorrent leechers', size: FULL ? 1024 * MiB : 128 * MiB, piece: MiB, upload: 4 },
  7: { title: 're-check / resume start-up', size: FULL ? 4096 * MiB : 256 * MiB, piece: MiB, recheck: true },
};

/** tc-download from the given peers into `out`. */
function runTc({ torrent, ports, out }) {
  return timed(process.execPath, [
    BIN.download,
    torrent,
    '-o',
    out,
    ...ports.flatMap((p) => ['--peer', `127.0.0.1:${p}`]),
    '--listen',
    '127.0.0.1',
    '--port',
    '0',
    '--no-dht',
    '--no-lsd',
    '--no-pex',
    '--quiet',
    '--first-peer-timeout',
    '30',
  ]);
}

/** A libtorrent downloader (or checker, with no peers) as one timed process that exits on "finished". */
function runLt({ torrent, ports = [], out, seedMode = false }) {
  const cfg = {
    mode: 'peer',
    torrentPath: torrent,
    savePath: out,
    port: 0,
    seedMode,
    connectTo: ports.map((port) => ({ ip: '127.0.0.1', port })),
  };
  const script = `
import json,subprocess,sys
p=subprocess.Popen([${JSON.stringify(PY)},${JSON.stringify(LT_SCRIPT)},${JSON.stringify(JSON.stringify(cfg))}],stdin=subprocess.PIPE,stdout=subprocess.PIPE)
for line in p.stdout:
    if json.loads(line).get("event")=="finished": break
p.stdin.close(); p.wait()`;
  return timed(PY, ['-c', script]);
}

function runWebtorrent({ torrent, ports, out }) {
  const script = `
import WebTorrent from 'webtorrent';
import { readFileSync } from 'node:fs';
const client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, tracker: false, webSeeds: false });
const t = client.add(readFileSync(${JSON.stringify(torrent)}), { path: ${JSON.stringify(out)}, announce: [] });
t.on('ready', () => { for (const p of ${JSON.stringify(ports)}) t.addPeer('127.0.0.1:' + p); });
t.on('done', () => client.destroy(() => process.exit(0)));
t.on('error', (e) => { console.error(e); process.exit(1); });
`;
  return timed(process.execPath, ['--input-type=module', '-e', script], { cwd: here });
}

const DOWNLOADERS = { tc: runTc, libtorrent: runLt, webtorrent: runWebtorrent };

/** Makes the shape's data under `dir/seed` and its torrent; returns { data, name, size, torrent }. */
async function makeShape(dir, s) {
  const seedDir = join(dir, 'seed');
  let data;
  let size = s.size;
  if (s.files) {
    data = join(seedDir, 'many');
    size = await writeMany(data, s.files);
  } else {
    data = join(seedDir, 'bench.bin');
    await writeSingle(data, size);
  }
  const torrent = join(dir, 'bench.torrent');
  makeTorrent(data, torrent, s.piece, { maker: s.maker });
  return { data, seedDir, name: s.files ? 'many' : 'bench.bin', size, torrent };
}

/** Rounds of each downloader against seeders on `ports`; the first round's copies are checked. */
async function downloadRounds(dir, made, ports) {
  const results = Object.fromEntries(CLIENTS.map((c) => [c, []]));
  const want = await treeSha1(made.data);
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of CLIENTS) {
      const out = join(dir, `out-${c}-${r}`);
      await mkdir(out, { recursive: true });
      const res = await DOWNLOADERS[c]({ torrent: made.torrent, ports, out });
      if (r === 0 && (await treeSha1(join(out, made.name))) !== want) throw new Error(`${c}: downloaded data differs`);
      results[c].push(res);
      log(
        `  round ${r + 1} ${c.padEnd(10)} ${res.wall.toFixed(2)} s  RSS ${res.rssMb.toFixed(0)} MB  CPU ${res.cpu.toFixed(2)} s (${res.user.toFixed(2)} user)`,
      );
      await rm(out, { recursive: true, force: true });
    }
  }
  return results;
}

async function shapeDownload(dir, s) {
  const made = await makeShape(dir, s);
  const peers = [];
  try {
    if (s.partial) {
      // Seeder k holds the pieces i with i mod n in {k, k+1}; they may not download from anyone.
      for (let k = 0; k < s.partial; k++) {
        const save = join(dir, `partial-${k}`);
        await writePartial(made.data, join(save, made.name), made.size, s.piece, (i) => i % s.partial === k || i % s.partial === (k + 1) % s.partial);
        peers.push(ltProc({ torrentPath: made.torrent, savePath: save, settings: { download_rate_limit: 1 } }));
      }
      for (const p of peers) await ltChecked(p);
    } else {
      const n = s.seeders ?? 1;
      const settings = s.seeders ? { upload_rate_limit: Math.round(CAP) } : {};
      for (let k = 0; k < n; k++) peers.push(ltProc({ torrentPath: made.torrent, savePath: made.seedDir, settings, seedMode: k > 0 }));
      for (const p of peers) await p.waitFor('finished');
    }
    const ports = [];
    for (const p of peers) ports.push((await p.waitFor('listening')).port);
    log(`  ${peers.length} libtorrent seeder(s) ready on ${ports.join(', ')}`);
    return { size: made.size, results: await downloadRounds(dir, made, ports) };
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
  }
}

/** Shape 6: each seeder serves `s.upload` libtorrent leechers at once, rounds alternating. */
async function shapeUpload(dir, s) {
  const made = await makeShape(dir, s);
  const tcPort = await freePort();
  const tcSeed = longRunning(process.execPath, [
    BIN.seed,
    made.torrent,
    made.seedDir,
    '--json',
    '--listen',
    '127.0.0.1',
    '--port',
    String(tcPort),
    '--no-dht',
    '--no-lsd',
  ]);
  const ltSeed = ltProc({ torrentPath: made.torrent, savePath: made.seedDir });
  const seeders = [];
  try {
    await tcSeed.until((l) => l.includes('"state":"seeding"'), 'seeding');
    await ltSeed.waitFor('finished');
    const ltPort = (await ltSeed.waitFor('listening')).port;
    const results = { tc: [], libtorrent: [] };
    const pids = { tc: tcSeed.child.pid, libtorrent: ltSeed.child.pid };
    const ports = { tc: tcPort, libtorrent: ltPort };
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of ['tc', 'libtorrent']) {
        const before = procStats(pids[c]);
        const t0 = performance.now();
        const leechers = Array.from({ length: s.upload }, (_, k) =>
          ltProc({ torrentPath: made.torrent, savePath: join(dir, `leech-${c}-${r}-${k}`), connectTo: [{ ip: '127.0.0.1', port: ports[c] }] }),
        );
        seeders.push(...leechers);
        await Promise.all(leechers.map((p) => p.waitFor('finished')));
        const wall = (performance.now() - t0) / 1000;
        const after = procStats(pids[c]);
        await Promise.all(leechers.map((p) => p.stop()));
        const res = { wall, cpu: after.cpu - before.cpu, rssMb: after.rssMb, user: NaN };
        results[c].push(res);
        log(
          `  round ${r + 1} ${c.padEnd(10)} seeder: ${wall.toFixed(2)} s for ${s.upload} leechers  RSS ${res.rssMb.toFixed(0)} MB  CPU ${res.cpu.toFixed(2)} s`,
        );
        for (let k = 0; k < s.upload; k++) await rm(join(dir, `leech-${c}-${r}-${k}`), { recursive: true, force: true });
      }
    }
    // CPU per GiB served: the seeder sent the torrent `s.upload` times.
    return { size: made.size * s.upload, results };
  } finally {
    await Promise.all(seeders.map((p) => p.stop()));
    await tcSeed.stop();
    await ltSeed.stop();
  }
}

/** Shape 7: a full re-check of complete data, then start-up with resume data, for tc and libtorrent. */
async function shapeRecheck(dir, s) {
  const made = await makeShape(dir, s);
  const base = { torrent: made.torrent, ports: [], out: made.seedDir };
  const tcArgs = (extra) => [
    BIN.download,
    made.torrent,
    '-o',
    made.seedDir,
    '--listen',
    '127.0.0.1',
    '--port',
    '0',
    '--no-dht',
    '--no-lsd',
    '--no-pex',
    '--quiet',
    ...extra,
  ];
  const cases = {
    'tc --recheck': () => timed(process.execPath, tcArgs(['--recheck'])),
    'libtorrent check': () => runLt(base),
    'tc resume': () => timed(process.execPath, tcArgs([])),
    'libtorrent seed_mode': () => runLt({ ...base, seedMode: true }),
  };
  const results = Object.fromEntries(Object.keys(cases).map((c) => [c, []]));
  for (let r = 0; r < ROUNDS; r++)
    for (const [c, run] of Object.entries(cases)) {
      const res = await run();
      results[c].push(res);
      log(`  round ${r + 1} ${c.padEnd(20)} ${res.wall.toFixed(2)} s  RSS ${res.rssMb.toFixed(0)} MB  CPU ${res.cpu.toFixed(2)} s`);
    }
  return {
    size: made.size,
    results,
    pairs: [
      ['tc --recheck', 'libtorrent check'],
      ['tc resume', 'libtorrent seed_mode'],
    ],
  };
}

function summarise(size, results) {
  const out = {};
  for (const [c, rs] of Object.entries(results)) {
    const wall = median(rs.map((x) => x.wall));
    out[c] = {
      wallS: wall,
      mbPerS: size / 1e6 / wall,
      peakRssMb: Math.max(...rs.map((x) => x.rssMb)),
      cpuSPerGiB: median(rs.map((x) => x.cpu)) / (size / 1024 ** 3),
    };
  }
  return out;
}

async function main() {
  const want = opt.shape.split(',').filter(Boolean);
  for (const w of want) if (!SHAPES[w]) throw new Error(`unknown shape ${w} (known: ${Object.keys(SHAPES).join(', ')})`);
  const report = [];
  const t0 = performance.now();
  for (const id of want) {
    const s = SHAPES[id];
    const dir = await mkdtemp(join(tmpdir(), `tc-bench-shape${id}-`));
    log(`shape ${id}: ${s.title}${s.size ? `, ${(s.size / MiB).toFixed(0)} MiB` : ''}, ${ROUNDS} rounds`);
    try {
      const r = s.recheck ? await shapeRecheck(dir, s) : s.upload ? await shapeUpload(dir, s) : await shapeDownload(dir, s);
      const summary = summarise(r.size, r.results);
      const pairs = r.pairs ?? [['tc', 'libtorrent']];
      report.push({ id, title: s.title, sizeBytes: r.size, summary, pairs, results: r.results });
    } finally {
      if (!opt.keep) await rm(dir, { recursive: true, force: true });
    }
  }
  if (opt.json) return void process.stdout.write(`${JSON.stringify({ rounds: ROUNDS, full: FULL, node: process.version, report })}\n`);
  const lines = [
    `shapes bench: median of ${ROUNDS} rounds, ${FULL ? 'full' : 'small'} sizes, node ${process.version}, ${((performance.now() - t0) / 60000).toFixed(1)} min`,
  ];
  lines.push('shape  client                 MiB    wall s    MB/s  peak RSS MB  CPU s/GiB');
  for (const { id, summary, sizeBytes } of report)
    for (const [c, x] of Object.entries(summary))
      lines.push(
        `${id.padEnd(6)} ${c.padEnd(20)} ${(sizeBytes / MiB).toFixed(0).padStart(5)} ${x.wallS.toFixed(2).padStart(9)} ${x.mbPerS.toFixed(0).padStart(7)} ${x.peakRssMb.toFixed(0).padStart(12)} ${x.cpuSPerGiB.toFixed(2).padStart(10)}`,
      );
  lines.push('ratios (tc / reference): wall, CPU');
  for (const { id, title, summary, pairs } of report)
    for (const [a, b] of pairs)
      if (summary[a] && summary[b])
        lines.push(
          `${id.padEnd(6)} ${`${a} / ${b}`.padEnd(40)} ${(summary[a].wallS / summary[b].wallS).toFixed(2)}  ${(summary[a].cpuSPerGiB / summary[b].cpuSPerGiB).toFixed(2)}   (${title})`,
        );
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e) => {
  log(`bench failed: ${e.stack ?? e}`);
  process.exit(1);
});
