#!/usr/bin/env node
// Download benchmark (issue 5): one python3-libtorrent seeder on 127.0.0.1 serves a single-file
// torrent (1 MiB pieces); tc-download, aria2c, the webtorrent library and a libtorrent downloader
// fetch it in turn, several rounds, in one run. Prints medians, ratios, peak RSS and CPU seconds.
//
//   node bench/download.mjs [--gib 1] [--rounds 3] [--clients tc,libtorrent,webtorrent,aria2c] [--json]
//
// Run it inside a private network namespace so nothing leaves loopback:
//   unshare --net -- sh -c 'ip link set lo up && node bench/download.mjs'
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fileSha1, makeData, median, timed } from './common.mjs';
import { LT_SCRIPT, PY, ltPeer } from './lt.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const TC_BIN = join(root, 'apps/download/bin/tc-download.js');
const PIECE = 1024 * 1024;

const { values: opt } = parseArgs({
  options: {
    gib: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: 'tc,libtorrent,webtorrent,aria2c' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const SIZE = Math.round(Number(opt.gib) * 1024 ** 3);
const ROUNDS = Number(opt.rounds);
const CLIENTS = opt.clients.split(',').filter(Boolean);
const log = (s) => process.stderr.write(`${s}\n`);

const runners = {
  async tc({ torrent, port, out }) {
    return timed(process.execPath, [
      TC_BIN,
      torrent,
      '-o',
      out,
      '--peer',
      `127.0.0.1:${port}`,
      '--listen',
      '127.0.0.1',
      '--quiet',
      '--first-peer-timeout',
      '30',
    ]);
  },
  async libtorrent({ torrent, port, out }) {
    // lt_peer.py prints "finished" then we close its stdin: a wrapper script makes it one timed process.
    const script = `
import json,subprocess,sys
p=subprocess.Popen([${JSON.stringify(PY)},${JSON.stringify(LT_SCRIPT)},json.dumps({"mode":"peer","torrentPath":${JSON.stringify(torrent)},"savePath":${JSON.stringify(out)},"port":0,"connectTo":[{"ip":"127.0.0.1","port":${port}}]})],stdin=subprocess.PIPE,stdout=subprocess.PIPE)
for line in p.stdout:
    if json.loads(line).get("event")=="finished": break
p.stdin.close(); p.wait()`;
    return timed(PY, ['-c', script]);
  },
  async webtorrent({ torrent, port, out }) {
    const script = `
import WebTorrent from 'webtorrent';
import { readFileSync } from 'node:fs';
const client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, tracker: false, webSeeds: false });
const t = client.add(readFileSync(${JSON.stringify(torrent)}), { path: ${JSON.stringify(out)}, announce: [] });
t.on('ready', () => t.addPeer('127.0.0.1:${port}'));
t.on('done', () => client.destroy(() => process.exit(0)));
t.on('error', (e) => { console.error(e); process.exit(1); });
`;
    return timed(process.execPath, ['--input-type=module', '-e', script], { cwd: here });
  },
};

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'tc-bench-dl-'));
  log(`bench/download: ${(SIZE / 1024 ** 3).toFixed(2)} GiB, 1 MiB pieces, ${ROUNDS} rounds, clients ${CLIENTS.join(', ')}`);
  const { file, torrent } = await makeData(dir, SIZE, PIECE);
  const seeder = ltPeer({ torrentPath: torrent, savePath: dirname(file), seed: true });
  const { port } = await seeder.waitFor('listening');
  await seeder.waitFor('finished');
  log(`seeder ready on 127.0.0.1:${port}`);
  const results = Object.fromEntries(CLIENTS.map((c) => [c, []]));
  let expectedSha1;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of CLIENTS) {
        const out = join(dir, `out-${c}-${r}`);
        await mkdir(out, { recursive: true });
        let res;
        if (c === 'aria2c') {
          // aria2c cannot be given a peer on the command line: the seeder dials it instead.
          res = await aria2WithDial(torrent, out, seeder, await freePort());
        } else res = await runners[c]({ torrent, port, out });
        const got = await stat(join(out, 'bench.bin'));
        if (got.size !== SIZE) throw new Error(`${c}: wrong size ${got.size}`);
        if (r === 0 && (await fileSha1(join(out, 'bench.bin'))) !== (expectedSha1 ??= await fileSha1(file))) throw new Error(`${c}: data differs`);
        results[c].push(res);
        log(
          `round ${r + 1} ${c.padEnd(10)} ${res.wall.toFixed(2)} s  ${(SIZE / 1e6 / res.wall).toFixed(0)} MB/s  RSS ${res.rssMb.toFixed(0)} MB  CPU ${res.cpu.toFixed(2)} s`,
        );
        await rm(out, { recursive: true, force: true });
      }
    }
  } finally {
    await seeder.stop();
    if (!opt.keep) await rm(dir, { recursive: true, force: true });
  }
  const summary = {};
  for (const c of CLIENTS) {
    const rs = results[c];
    summary[c] = {
      wallS: median(rs.map((x) => x.wall)),
      mbPerS: SIZE / 1e6 / median(rs.map((x) => x.wall)),
      peakRssMb: Math.max(...rs.map((x) => x.rssMb)),
      cpuSPerGiB: median(rs.map((x) => x.cpu)) / (SIZE / 1024 ** 3),
    };
  }
  const lines = [`median of ${ROUNDS} rounds, ${(SIZE / 1024 ** 3).toFixed(2)} GiB, node ${process.version}`];
  lines.push('client       wall s    MB/s   peak RSS MB   CPU s/GiB');
  for (const c of CLIENTS) {
    const s = summary[c];
    lines.push(
      `${c.padEnd(12)} ${s.wallS.toFixed(2).padStart(6)} ${s.mbPerS.toFixed(0).padStart(7)} ${s.peakRssMb.toFixed(0).padStart(13)} ${s.cpuSPerGiB.toFixed(2).padStart(11)}`,
    );
  }
  if (summary.tc) for (const c of CLIENTS) if (c !== 'tc') lines.push(`tc / ${c}: ${(summary.tc.wallS / summary[c].wallS).toFixed(2)}`);
  if (opt.json) process.stdout.write(`${JSON.stringify({ sizeBytes: SIZE, rounds: ROUNDS, summary, results })}\n`);
  else process.stdout.write(`${lines.join('\n')}\n`);
}

/** aria2c downloads while the seeder connects to its fixed listen port. */
async function aria2WithDial(torrent, out, seeder, listen) {
  const p = timed('aria2c', [
    '--seed-time=0',
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    `--listen-port=${listen}`,
    '--interface=127.0.0.1',
    '--file-allocation=none',
    '--summary-interval=0',
    '--console-log-level=warn',
    '--quiet=true',
    `--dir=${out}`,
    torrent,
  ]);
  // Have the seeder dial aria2c only once it listens: libtorrent waits a minute or more before it
  // retries an address that refused it (a round once hung for 9 minutes that way).
  await tcpListening(listen, 10_000);
  seeder.child.stdin.write(`${JSON.stringify({ cmd: 'connect', ip: '127.0.0.1', port: listen })}\n`);
  return p;
}

/** Resolves once some socket listens on 127.0.0.1:`port` (read from /proc/net/tcp: no probe connection). */
async function tcpListening(port, timeoutMs) {
  const want = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const table = await readFile('/proc/net/tcp', 'utf8');
    // Columns: sl, local_address, rem_address, st (0A = LISTEN).
    if (
      table.split('\n').some((l) => {
        const f = l.trim().split(/\s+/);
        return f[1] === want && f[3] === '0A';
      })
    )
      return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** A free TCP port on 127.0.0.1 (a new one per aria2c round: libtorrent will not re-dial a peer it just dropped). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

main().catch((e) => {
  log(`bench failed: ${e.stack ?? e}`);
  process.exit(1);
});
