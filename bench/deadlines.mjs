// How soon each command's time limit ends it: the wall-clock checks that used to sit in the tests
// (tc-netcheck's overall --timeout, tc-debug-torrent's URL --timeout, an HTTP tracker announce cut
// by its total deadline while the tracker drips one byte every 100 ms). The tests now check only
// that the right limit fired (its error code or message); this measures how long it took.
//
//   node bench/deadlines.mjs [--rounds 5] [--json]
//
// Needs built apps (npm run setup). Loopback only: run it in a namespace with only `lo` if you like,
// `unshare --net -- sh -c 'ip link set lo up && node bench/deadlines.mjs'`.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { flag, median, numberOption } from './common.mjs';

const ROUNDS = numberOption('rounds', 5);
const JSON_OUT = flag('json');
const bin = (app) => fileURLToPath(new URL(`../apps/${app}/bin/tc-${app}.js`, import.meta.url));

/** Wall time (ms) of one run of a command, from spawn to exit, and its exit code. */
function timed(args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' } });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (s) => (err += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - t0, code, err }));
  });
}

// A tracker that never finishes: a valid announce body, one byte every 100 ms (never idle, so only
// a total deadline stops it); and a .torrent URL whose body never comes.
const timers = new Set();
const body = Buffer.from('d8:completei1e10:incompletei2e8:intervali1800e5:peers6:\x7f\x00\x00\x01\x1a\xe1e', 'latin1');
const http = createServer((req, res) => {
  if (req.url?.startsWith('/announce')) {
    res.writeHead(200, { 'content-length': String(body.length) });
    let i = 0;
    const t = setInterval(() => {
      if (res.destroyed || i >= body.length) return clearInterval(t);
      res.write(body.subarray(i, ++i));
    }, 100);
    timers.add(t);
  } else {
    res.writeHead(200, { 'content-type': 'application/x-bittorrent' });
    res.flushHeaders();
  }
});
await new Promise((r) => http.listen(0, '127.0.0.1', r));
const httpPort = http.address().port;
// A UDP "tracker" that reads and never answers.
const silent = createSocket('udp4');
silent.on('message', () => undefined);
await new Promise((r) => silent.bind(0, '127.0.0.1', r));
const udpPort = silent.address().port;
const infoHash = 'ab'.repeat(20);

const cases = [
  {
    name: 'tc-netcheck --timeout 0.5 (silent UDP tracker, probe bound 5 s)',
    limitMs: 500,
    args: [bin('netcheck'), '--tracker', `udp://127.0.0.1:${udpPort}/announce`, '--only', 'trackers', '--timeout', '0.5', '--probe-timeout', '5000', '--json'],
    baseline: [bin('netcheck'), '--timeout', '0'],
  },
  {
    name: 'tc-debug-torrent --timeout 1 (URL whose body never comes)',
    limitMs: 1000,
    args: [bin('debug-torrent'), '--timeout', '1', `http://127.0.0.1:${httpPort}/slow.torrent`],
    baseline: [bin('debug-torrent'), '--timeout', '0', `http://127.0.0.1:${httpPort}/slow.torrent`],
  },
  {
    name: 'tc-debug-tracker --timeout 0.5 (HTTP tracker dripping 1 B/100 ms)',
    limitMs: 500,
    args: [bin('debug-tracker'), '--info-hash', infoHash, '--tracker', `http://127.0.0.1:${httpPort}/announce`, '--timeout', '0.5'],
    baseline: [bin('debug-tracker'), '--info-hash', infoHash, '--timeout', '0'],
  },
];

const rows = [];
for (const c of cases) {
  const runs = [];
  const starts = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Interleaved: the start-up baseline (the same command refusing --timeout 0: modules loaded,
    // arguments parsed, exit 2) sees the same load as the timed run.
    const base = await timed(c.baseline);
    if (base.code !== 2) throw new Error(`${c.name}: the baseline exited ${base.code}, expected 2: ${base.err}`);
    starts.push(base.ms);
    const run = await timed(c.args);
    if (run.code === 0) throw new Error(`${c.name}: exited 0, expected a failure: ${run.err}`);
    runs.push(run.ms);
  }
  const wall = median(runs);
  const start = median(starts);
  rows.push({ case: c.name, limitMs: c.limitMs, wallMs: Math.round(wall), startupMs: Math.round(start), overshootMs: Math.round(wall - start - c.limitMs) });
}
for (const t of timers) clearInterval(t);
http.closeAllConnections();
http.close();
silent.close();

if (JSON_OUT) {
  console.log(JSON.stringify({ rounds: ROUNDS, node: process.version, rows }));
} else {
  console.log(`deadlines: median of ${ROUNDS} rounds, ${process.version} (start-up = the same command refusing --timeout 0)`);
  console.log(`${'case'.padEnd(68)} limit ms  wall ms  start-up ms  overshoot ms`);
  for (const r of rows) {
    console.log(
      `${r.case.padEnd(68)} ${String(r.limitMs).padStart(8)} ${String(r.wallMs).padStart(8)} ${String(r.startupMs).padStart(12)} ${String(r.overshootMs).padStart(13)}`,
    );
  }
}
