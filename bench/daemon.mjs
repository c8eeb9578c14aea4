// tc-daemon with many torrents (issue 14, performance and scale), beside transmission-daemon when
// it is installed: N small torrents whose data is already on disk are added over the Transmission
// RPC, and the script measures the time from the daemon's start to every torrent seeding, the
// daemon's RSS, its CPU use while idle over 10 s, and the latency of one `torrent-get` of all
// torrents (the call a remote's list view makes every few seconds).
//
//   node bench/daemon.mjs [--torrents 1000] [--kib 16] [--idle-s 10] [--json]
//
// Needs a build of apps/daemon; run it in a private network namespace:
//   unshare --net -- sh -c 'ip link set lo up && node bench/daemon.mjs'
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from '@tc/codec';
import { flag, median, numberOption } from './common.mjs';

const count = numberOption('torrents', 1000);
const kib = numberOption('kib', 16);
const idleS = numberOption('idle-s', 10);
const AUTH = 'bench:bench';
const TC_DAEMON = join(dirname(fileURLToPath(import.meta.url)), '..', 'apps', 'daemon', 'bin', 'tc-daemon.js');
const TR_DAEMON = '/usr/bin/transmission-daemon';
const TICK = 100; // USER_HZ on Linux
const GET_FIELDS = [
  'id',
  'name',
  'status',
  'percentDone',
  'rateDownload',
  'rateUpload',
  'eta',
  'peersConnected',
  'sizeWhenDone',
  'leftUntilDone',
  'error',
  'errorString',
  'uploadRatio',
];

const work = mkdtempSync(join(tmpdir(), 'tc-bench-daemon-'));
const root = join(work, 'root');

/** N single-file torrents of pseudo-random data (16 KiB pieces), written under `root`. */
function makeTorrents() {
  mkdirSync(root, { recursive: true });
  const out = [];
  for (let i = 0; i < count; i++) {
    const name = `t${String(i).padStart(5, '0')}.bin`;
    const data = createHash('sha512').update(`seed ${i}`).digest();
    const bytes = Buffer.alloc(kib * 1024);
    for (let off = 0; off < bytes.length; off += data.length) data.copy(bytes, off, 0, Math.min(data.length, bytes.length - off));
    bytes.writeUInt32BE(i, 0);
    writeFileSync(join(root, name), bytes);
    const pieceLength = 16 * 1024;
    const pieces = [];
    for (let off = 0; off < bytes.length; off += pieceLength)
      pieces.push(
        createHash('sha1')
          .update(bytes.subarray(off, off + pieceLength))
          .digest(),
      );
    const info = { length: bytes.length, name: Buffer.from(name), 'piece length': pieceLength, pieces: Buffer.concat(pieces) };
    out.push(encode({ info }).toString('base64'));
  }
  return out;
}

/** A Transmission RPC client with the session-id handshake and optional basic auth. */
function rpcClient(port, auth) {
  let sid = '';
  const headers = () => ({
    'content-type': 'application/json',
    'x-transmission-session-id': sid,
    ...(auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {}),
  });
  return async function call(method, args = {}) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await fetch(`http://127.0.0.1:${port}/transmission/rpc`, {
        method: 'POST',
        headers: headers(),
        body: JSON.stringify({ method, arguments: args }),
      });
      if (res.status === 409) {
        sid = res.headers.get('x-transmission-session-id') ?? '';
        continue;
      }
      const body = await res.json();
      if (body.result !== 'success') throw new Error(`${method}: ${body.result}`);
      return body.arguments;
    }
    throw new Error(`${method}: no session id`);
  };
}

function cpuTicks(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  const { createServer } = await import('node:net');
  return new Promise((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => r(port));
    });
  });
}

/** Starts a daemon; resolves with its process and RPC port once the RPC answers. */
async function startTc(dir) {
  const child = spawn(
    process.execPath,
    [TC_DAEMON, '--listen', '127.0.0.1:0', '--port', '0', '--auth', AUTH, '--state', join(dir, 'state'), '--download-root', root],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  const port = await new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (s) => {
      out += s;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`tc-daemon exited ${code}`)));
  });
  return { child, call: rpcClient(port, AUTH) };
}

async function startTransmission(dir) {
  const port = await freePort();
  const peerPort = await freePort();
  const config = join(dir, 'config');
  mkdirSync(config, { recursive: true });
  const child = spawn(
    TR_DAEMON,
    ['-f', '-g', config, '-p', String(port), '-P', String(peerPort), '-T', '-r', '127.0.0.1', '-w', root, '-O', '-Y', '-M', '--log-error'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const call = rpcClient(port, undefined);
  for (let i = 0; ; i++) {
    try {
      await call('session-get', { fields: ['version'] });
      break;
    } catch (e) {
      if (i > 100) throw e;
      await sleep(100);
    }
  }
  await call('session-set', { 'dht-enabled': false, 'lpd-enabled': false, 'pex-enabled': false, 'port-forwarding-enabled': false });
  return { child, call };
}

async function measure(label, start, torrents) {
  const t0 = performance.now();
  const { child, call } = await start(mkdtempSync(join(work, `${label}-`)));
  const startedMs = performance.now() - t0;
  // Adds, 16 at a time.
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < torrents.length) {
        const metainfo = torrents[next++];
        await call('torrent-add', { metainfo, 'download-dir': root });
      }
    }),
  );
  const addedMs = performance.now() - t0;
  let seeding = 0;
  for (;;) {
    const { torrents: list } = await call('torrent-get', { fields: ['id', 'status'] });
    seeding = list.filter((t) => t.status === 6).length;
    if (seeding === torrents.length) break;
    if (performance.now() - t0 > 30 * 60_000) throw new Error(`${label}: only ${seeding} of ${torrents.length} seeding after 30 min`);
    await sleep(200);
  }
  const seedingMs = performance.now() - t0;
  // Settle, then idle CPU over idleS seconds.
  await sleep(2000);
  const c0 = cpuTicks(child.pid);
  const w0 = performance.now();
  await sleep(idleS * 1000);
  const idleCpu = (cpuTicks(child.pid) - c0) / TICK / ((performance.now() - w0) / 1000);
  const lat = [];
  let n = 0;
  for (let i = 0; i < 7; i++) {
    const s = performance.now();
    n = (await call('torrent-get', { fields: GET_FIELDS })).torrents.length;
    lat.push(performance.now() - s);
  }
  const rss = rssMiB(child.pid);
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  return { label, startedMs, addedMs, seedingMs, rssMiB: rss, idleCpuPct: idleCpu * 100, torrentGetMs: median(lat), torrentGetCount: n };
}

const torrents = makeTorrents();
const results = [await measure('tc-daemon', startTc, torrents)];
const hasTr = spawnSync(TR_DAEMON, ['--version'], { encoding: 'utf8' });
const trVersion = hasTr.error ? undefined : (hasTr.stderr || hasTr.stdout).trim().split('\n')[0];
if (trVersion !== undefined) results.push(await measure('transmission-daemon', startTransmission, torrents));
rmSync(work, { recursive: true, force: true });

if (flag('json')) console.log(JSON.stringify({ count, kib, results, loadavg: loadavg(), transmission: trVersion }, null, 2));
else {
  console.log(`${count} torrents of ${kib} KiB, data on disk, node ${process.version}${trVersion ? `, ${trVersion}` : ''}`);
  console.log('daemon                 all added s   all seeding s   RSS MiB   idle CPU %   torrent-get ms (all)');
  for (const r of results) {
    console.log(
      `${r.label.padEnd(22)} ${(r.addedMs / 1000).toFixed(2).padStart(11)}   ${(r.seedingMs / 1000).toFixed(2).padStart(13)}   ${r.rssMiB.toFixed(0).padStart(7)}   ${r.idleCpuPct.toFixed(1).padStart(10)}   ${r.torrentGetMs.toFixed(1).padStart(8)} (${r.torrentGetCount})`,
    );
  }
  console.log(
    `load average: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
}
