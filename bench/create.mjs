// tc-create beside mktorrent (-t 2), transmission-create and libtorrent's set_piece_hashes on the
// same data (1 GiB by default), in one run: each maker is run as a process on a warm page cache,
// in interleaved rounds, and the median wall time is reported. The info dictionaries are checked
// to be byte-identical where the makers promise it (tc v1 = mktorrent, tc hybrid/v2 = libtorrent).
//
//   node bench/create.mjs [--mib 1024] [--files 4] [--piece-kib 1024] [--rounds 3] [--json] [--keep]
//
// Needs a build of apps/create (npx turbo run build --filter=@tc/create-app), mktorrent,
// transmission-create and python3-libtorrent.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode, encode } from '@tc/codec';
import { flag, median, numberOption } from './common.mjs';
import { PY } from './lt.mjs';

const MIB = 1024 * 1024;
const totalMiB = numberOption('mib', 1024);
const fileCount = numberOption('files', 4);
const pieceKiB = numberOption('piece-kib', 1024);
const rounds = numberOption('rounds', 3);
const TC = join(dirname(fileURLToPath(import.meta.url)), '..', 'apps/create/bin/tc-create.js');

const LT_SCRIPT = `
import libtorrent as lt, sys, os
root, out, pl, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
flags = {'v1': lt.create_torrent.v1_only, 'v2': lt.create_torrent.v2_only, 'hybrid': 0}[mode]
fs = lt.file_storage()
rel = []
for d, _, files in os.walk(root):
    for f in files:
        rel.append(os.path.relpath(os.path.join(d, f), root))
for r in sorted(rel, key=lambda p: [c.encode() for c in p.split(os.sep)]):
    fs.add_file(os.path.join(os.path.basename(root), r), os.path.getsize(os.path.join(root, r)))
ct = lt.create_torrent(fs, pl, flags=flags)
lt.set_piece_hashes(ct, os.path.dirname(root))
open(out, 'wb').write(lt.bencode(ct.generate()))
`;

function makeData(dir) {
  const per = Math.floor((totalMiB * MIB) / fileCount);
  const chunk = randomBytes(8 * MIB);
  for (let i = 0; i < fileCount; i++) {
    const fd = openSync(join(dir, `part-${String(i).padStart(3, '0')}.bin`), 'w');
    // Each file its own bytes: rotate the pattern so no two pieces hash alike.
    for (let done = 0; done < per;) {
      const n = Math.min(chunk.length, per - done);
      chunk.writeUInt32LE(i * 65536 + done / MIB, 0);
      writeSync(fd, chunk, 0, n);
      done += n;
    }
    closeSync(fd);
  }
  return per * fileCount;
}

/** Reads every file once so all makers start from the page cache. */
function warm(dir) {
  for (const f of readdirSync(dir)) createHash('sha1').update(readFileSync(join(dir, f)));
}

function infoBytes(file) {
  const top = decode(readFileSync(file));
  return encode(top.get('info'));
}

const work = mkdtempSync(join(tmpdir(), 'tc-bench-create-'));
const data = join(work, 'data');
mkdirSync(data);
const total = makeData(data);
warm(data);
const pl = pieceKiB * 1024;
const log2 = Math.round(Math.log2(pl));
const out = (name) => join(work, `${name}.torrent`);
const contenders = [
  {
    name: 'tc-create --v1',
    file: out('tc-v1'),
    cmd: [process.execPath, TC, data, '--v1', '-s', `${pieceKiB}k`, '--no-date', '--progress', 'none', '-f', '-o', out('tc-v1')],
  },
  {
    name: 'tc-create (hybrid)',
    file: out('tc-hybrid'),
    cmd: [process.execPath, TC, data, '-s', `${pieceKiB}k`, '--no-date', '--progress', 'none', '-f', '-o', out('tc-hybrid')],
  },
  {
    name: 'tc-create --v2',
    file: out('tc-v2'),
    cmd: [process.execPath, TC, data, '--v2', '-s', `${pieceKiB}k`, '--no-date', '--progress', 'none', '-f', '-o', out('tc-v2')],
  },
  {
    name: 'mktorrent -t 2 (v1)',
    file: out('mk'),
    cmd: ['mktorrent', '-t', '2', '-l', String(log2), '-o', out('mk'), data],
    pre: () => rmSync(out('mk'), { force: true }),
  },
  {
    name: 'transmission-create (v1)',
    file: out('tr'),
    cmd: ['transmission-create', '-s', String(pieceKiB), '-o', out('tr'), data],
    pre: () => rmSync(out('tr'), { force: true }),
  },
  { name: 'libtorrent v1', file: out('lt-v1'), cmd: [PY, '-c', LT_SCRIPT, data, out('lt-v1'), String(pl), 'v1'] },
  { name: 'libtorrent hybrid', file: out('lt-hybrid'), cmd: [PY, '-c', LT_SCRIPT, data, out('lt-hybrid'), String(pl), 'hybrid'] },
  { name: 'libtorrent v2', file: out('lt-v2'), cmd: [PY, '-c', LT_SCRIPT, data, out('lt-v2'), String(pl), 'v2'] },
];

const times = new Map(contenders.map((c) => [c.name, []]));
try {
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round so no maker always goes first (or always after another's garbage).
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
    for (const c of order) {
      c.pre?.();
      const t0 = process.hrtime.bigint();
      const r = spawnSync(c.cmd[0], c.cmd.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TZ: 'UTC' } });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.status !== 0) throw new Error(`${c.name} failed (${r.status}): ${r.stderr}`);
      times.get(c.name).push(s);
    }
  }
  const same = (a, b) => infoBytes(out(a)).equals(infoBytes(out(b)));
  const checks = {
    'tc v1 = mktorrent': same('tc-v1', 'mk'),
    'tc v1 = libtorrent v1': same('tc-v1', 'lt-v1'),
    'tc hybrid = libtorrent hybrid': same('tc-hybrid', 'lt-hybrid'),
    'tc v2 = libtorrent v2': same('tc-v2', 'lt-v2'),
  };
  const rows = contenders.map((c) => {
    const t = median(times.get(c.name));
    return { name: c.name, seconds: t, mbps: total / MIB / t };
  });
  const best = (re) => Math.min(...rows.filter((r) => re.test(r.name) && !r.name.startsWith('tc')).map((r) => r.seconds));
  const summary = {
    v1: { tc: rows[0].seconds, fastestOther: best(/v1/) },
    hybrid: { tc: rows[1].seconds, libtorrent: rows.find((r) => r.name === 'libtorrent hybrid').seconds },
    v2: { tc: rows[2].seconds, libtorrent: rows.find((r) => r.name === 'libtorrent v2').seconds },
  };
  if (flag('json')) {
    process.stdout.write(
      `${JSON.stringify({ totalBytes: total, files: fileCount, pieceLength: pl, rounds, cores: availableParallelism(), rows, checks, summary })}\n`,
    );
  } else {
    const head = `create bench: ${(total / MIB).toFixed(0)} MiB in ${fileCount} files, ${pieceKiB} KiB pieces, median of ${rounds} rounds, ${availableParallelism()} cores, node ${process.version}`;
    const lines = [head, `${'maker'.padEnd(26)}${'seconds'.padStart(9)}${'MiB/s'.padStart(9)}`];
    for (const r of rows) lines.push(`${r.name.padEnd(26)}${r.seconds.toFixed(2).padStart(9)}${r.mbps.toFixed(0).padStart(9)}`);
    lines.push('identical info dictionaries:');
    for (const [k, v] of Object.entries(checks)) lines.push(`  ${k}: ${v ? 'yes' : 'NO'}`);
    const pct = (a, b) => `${(((a - b) / b) * 100).toFixed(0)}%`;
    lines.push(`tc v1 vs the fastest v1 maker: ${pct(summary.v1.tc, summary.v1.fastestOther)}`);
    lines.push(`tc hybrid vs libtorrent hybrid: ${pct(summary.hybrid.tc, summary.hybrid.libtorrent)}`);
    lines.push(`tc v2 vs libtorrent v2: ${pct(summary.v2.tc, summary.v2.libtorrent)}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (!Object.values(checks).every(Boolean)) process.exitCode = 1;
} finally {
  if (!flag('keep')) rmSync(work, { recursive: true, force: true });
}
