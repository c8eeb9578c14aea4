// What the benchmark scripts share: a GC we can call between timed steps, numeric options, medians.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LT_SCRIPT, PY } from './lt.mjs';

/**
 * Re-runs the calling script with --expose-gc when `gc` is missing, so each timed step can start
 * from a collected heap and one contender's garbage does not bill the next one's time.
 */
export function ensureExposedGc() {
  if (typeof globalThis.gc === 'function') return;
  const r = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, process.argv[1], ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}

const args = process.argv.slice(2);

/** `--name N` from the command line as a number, or `dflt`. */
export function numberOption(name, dflt) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

/** Whether `--name` was given. */
export function flag(name) {
  return args.includes(`--${name}`);
}

/** The median (upper middle for an even count) of some numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs a command under /usr/bin/time -v; resolves with wall seconds, peak RSS (MB), CPU seconds. */
export function timed(cmd, args, { env, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('/usr/bin/time', ['-v', cmd, ...args], { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => {
      const wall = (performance.now() - t0) / 1000;
      const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(err)?.[1] ?? 0) / 1024;
      const user = Number(/User time \(seconds\): ([\d.]+)/.exec(err)?.[1] ?? 0);
      const sys = Number(/System time \(seconds\): ([\d.]+)/.exec(err)?.[1] ?? 0);
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${err.slice(-1500)}${out.slice(-500)}`));
      else resolve({ wall, rssMb: rss, cpu: user + sys });
    });
  });
}

/**
 * Writes `size` bytes to DIR/seed/bench.bin and makes a v1 torrent of it with libtorrent
 * (`pieceLength`): 64 MiB of random bytes repeated with a per-block counter, every piece distinct.
 */
export async function makeData(dir, size, pieceLength) {
  const file = join(dir, 'seed', 'bench.bin');
  await mkdir(dirname(file), { recursive: true });
  const block = randomBytes(64 * 1024 * 1024);
  const ws = createWriteStream(file);
  for (let off = 0, n = 0; off < size; off += block.length, n++) {
    const len = Math.min(block.length, size - off);
    block.writeUInt32LE(n, 0);
    if (!ws.write(Buffer.from(block.subarray(0, len)))) await new Promise((r) => ws.once('drain', r));
  }
  await new Promise((r) => ws.end(r));
  const torrent = join(dir, 'bench.torrent');
  const r = spawnSync(PY, [LT_SCRIPT, JSON.stringify({ mode: 'create', dataPath: file, torrentPath: torrent, pieceLength })]);
  if (r.status !== 0) throw new Error(`torrent creation failed: ${r.stdout}${r.stderr}`);
  return { file, torrent };
}

/** SHA-1 of a file, streamed (a benchmark must not hold GiBs in memory). */
export async function fileSha1(path) {
  const h = createHash('sha1');
  for await (const c of createReadStream(path, { highWaterMark: 4 << 20 })) h.update(c);
  return h.digest('hex');
}
