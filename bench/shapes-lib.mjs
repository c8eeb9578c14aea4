// What bench/shapes.mjs needs around the clients: data and torrents of each shape, timed child
// processes (wall, CPU, peak RSS), libtorrent peers with waits on their events, /proc counters.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, open, readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { LT_SCRIPT, PY } from './lt.mjs';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..');
export const BIN = {
  download: join(root, 'apps/download/bin/tc-download.js'),
  seed: join(root, 'apps/seed/bin/tc-seed.js'),
  create: join(root, 'apps/create/bin/tc-create.js'),
};
export const log = (s) => process.stderr.write(`${s}\n`);

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
      else resolve({ wall, rssMb: rss, cpu: user + sys, user, sys });
    });
  });
}

/** CPU seconds (user + system, all threads) and peak RSS (MB) of a running process, from /proc. */
export function procStats(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the name: state is index 0, utime 11, stime 12 (clock ticks, 100 per second here).
  const cpu = (Number(f[11]) + Number(f[12])) / 100;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssMb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  return { cpu, rssMb };
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Bytes of the pattern the data files are cut from: random, with a per-chunk counter so pieces differ. */
function patternSource() {
  const block = randomBytes(16 * 1024 * 1024);
  let n = 0;
  return (len) => {
    block.writeUInt32LE(n++, 0);
    block.writeUInt32LE(Math.imul(n, 2654435761) >>> 0, 8);
    return len <= block.length
      ? Buffer.from(block.subarray(0, len))
      : Buffer.concat(Array.from({ length: Math.ceil(len / block.length) }, () => block)).subarray(0, len);
  };
}

/** Writes one file of `size` pseudo-random bytes. */
export async function writeSingle(file, size) {
  await mkdir(dirname(file), { recursive: true });
  const next = patternSource();
  const fh = await open(file, 'w');
  try {
    for (let off = 0; off < size;) {
      const len = Math.min(16 * 1024 * 1024, size - off);
      const chunk = next(len);
      // A fresh counter in every 64 KiB so no two small pieces are equal either.
      for (let o = 0; o < len; o += 65536) chunk.writeUInt32LE((off + o) >>> 0, o + 4);
      await fh.write(chunk, 0, len, off);
      off += len;
    }
  } finally {
    await fh.close();
  }
}

/** Writes `count` files of 1–100 KiB (seeded sizes) in folders of 100; returns the total size. */
export async function writeMany(dir, count) {
  const next = patternSource();
  let total = 0;
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed / 0x7fffffff);
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `d${String(Math.floor(i / 100)).padStart(3, '0')}`);
    if (i % 100 === 0) await mkdir(sub, { recursive: true });
    const size = 1024 + Math.floor(rnd() * 99 * 1024);
    const buf = next(size);
    buf.writeUInt32LE(i, 4);
    const fh = await open(join(sub, `f${String(i).padStart(5, '0')}.bin`), 'w');
    await fh.write(buf);
    await fh.close();
    total += size;
  }
  return total;
}

/** Makes a v1 torrent of `dataPath` with libtorrent's create_torrent (or tc-create for 16 KiB pieces). */
export function makeTorrent(dataPath, torrentPath, pieceLength, { maker = 'libtorrent' } = {}) {
  const r =
    maker === 'tc'
      ? spawnSync(process.execPath, [BIN.create, dataPath, '--v1', '-s', String(pieceLength), '-o', torrentPath, '--no-date', '--json'])
      : spawnSync(PY, [LT_SCRIPT, JSON.stringify({ mode: 'create', dataPath, torrentPath, pieceLength })]);
  if (r.status !== 0) throw new Error(`torrent creation failed: ${r.stdout}${r.stderr}`);
}

/**
 * Copies the pieces of `src` with `keep(i)` into a sparse file `dst`: a partial seeder's data. A
 * libtorrent seeder checking it finds exactly those pieces (the holes read as zeros and fail).
 */
export async function writePartial(src, dst, size, pieceLength, keep) {
  await mkdir(dirname(dst), { recursive: true });
  const inp = await open(src, 'r');
  const out = await open(dst, 'w');
  try {
    await out.truncate(size);
    const buf = Buffer.allocUnsafe(pieceLength);
    for (let i = 0; i * pieceLength < size; i++) {
      if (!keep(i)) continue;
      const len = Math.min(pieceLength, size - i * pieceLength);
      await inp.read(buf, 0, len, i * pieceLength);
      await out.write(buf, 0, len, i * pieceLength);
    }
  } finally {
    await inp.close();
    await out.close();
  }
}

/** SHA-1 over every file under `path` (a file or a folder walked in sorted order), with relative names. */
export async function treeSha1(path) {
  const h = createHash('sha1');
  const walk = async (p) => {
    let ents;
    try {
      ents = await readdir(p, { withFileTypes: true });
    } catch {
      for await (const c of createReadStream(p, { highWaterMark: 4 << 20 })) h.update(c);
      return;
    }
    for (const e of ents.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.endsWith('.tc-resume') || e.name.startsWith('.')) continue;
      const q = join(p, e.name);
      if (e.isDirectory()) await walk(q);
      else {
        h.update(relative(path, q));
        for await (const c of createReadStream(q, { highWaterMark: 4 << 20 })) h.update(c);
      }
    }
  };
  await walk(path);
  return h.digest('hex');
}

/**
 * A python3-libtorrent peer (lt_peer.py) with waits on its JSON events: `until(pred)` resolves with
 * the first event (past or future) that `pred` accepts.
 */
export function ltProc(cfg) {
  const child = spawn(PY, [LT_SCRIPT, JSON.stringify({ mode: 'peer', port: 0, statusIntervalMs: 0, connectTo: [], ...cfg })], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const events = [];
  const waiters = new Set();
  createInterface({ input: child.stdout }).on('line', (l) => {
    let e;
    try {
      e = JSON.parse(l);
    } catch {
      return;
    }
    events.push(e);
    if (events.length > 200) events.splice(0, 100);
    for (const w of [...waiters]) if (w.pred(e)) (waiters.delete(w), w.resolve(e));
  });
  const until = (pred, what = 'an event') =>
    new Promise((resolve, reject) => {
      const f = events.find(pred);
      if (f) return resolve(f);
      waiters.add({ pred, resolve });
      child.once('exit', (c) => reject(new Error(`lt_peer exited ${c} before ${what}`)));
    });
  const waitFor = (name) => until((e) => e.event === name, name);
  const send = (cmd) => child.stdin.write(`${JSON.stringify(cmd)}\n`);
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.stdin.end();
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
  return { child, until, waitFor, send, stop };
}

/** Waits until a libtorrent peer has finished checking its data (a partial seeder never "finishes"). */
export async function ltChecked(p) {
  for (;;) {
    p.send({ cmd: 'status' });
    const st = await p.until((e) => e.event === 'status' && !e._seen, 'status');
    st._seen = true;
    if (!/checking/.test(st.state)) return st;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A spawned long-running process with its stdout lines, for tc-seed. */
export function longRunning(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = new Set();
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(l);
    for (const w of [...waiters]) if (w.pred(l)) (waiters.delete(w), w.resolve(l));
  });
  const until = (pred, what) =>
    new Promise((resolve, reject) => {
      const f = lines.find(pred);
      if (f) return resolve(f);
      waiters.add({ pred, resolve });
      child.once('exit', (c) => reject(new Error(`${cmd} exited ${c} before ${what}: ${err}`)));
    });
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
  return { child, until, stop };
}
