#!/usr/bin/env node
// Web seed benchmark (issue 13, BEP 19): a single-file torrent (1 MiB pieces) served by a local HTTP
// Range server only (no peer at all); tc-download (--web-seed) and a python3-libtorrent downloader
// (add_url_seed) fetch it in turn, several rounds, in one run. Prints medians, ratios, peak RSS and CPU.
//
//   node bench/webseed.mjs [--gib 1] [--rounds 3] [--clients tc,libtorrent] [--json]
//
// Run it inside a private network namespace so nothing leaves loopback:
//   unshare --net -- sh -c 'ip link set lo up && node bench/webseed.mjs'
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fileSha1, makeData, median, timed } from './common.mjs';
import { PY } from './lt.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const TC_BIN = join(root, 'apps/download/bin/tc-download.js');
const PIECE = 1024 * 1024;

const { values: opt } = parseArgs({
  options: {
    gib: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: 'tc,libtorrent' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const SIZE = Math.round(Number(opt.gib) * 1024 ** 3);
const ROUNDS = Number(opt.rounds);
const CLIENTS = opt.clients.split(',').filter(Boolean);
const log = (s) => process.stderr.write(`${s}\n`);

/** A Range server (single ranges, streamed from disk) of the one file, at /bench.bin; counts requests and bytes. */
function rangeServer(file, size) {
  const stats = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    stats.requests++;
    if (new URL(req.url, 'http://x').pathname !== '/bench.bin') return void res.writeHead(404).end();
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const end = m && m[2] !== '' ? Math.min(Number(m[2]), size - 1) : size - 1;
    if (start > end) return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
    res.writeHead(m ? 206 : 200, {
      'content-length': String(end - start + 1),
      'accept-ranges': 'bytes',
      ...(m ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    stats.bytes += end - start + 1;
    createReadStream(file, { start, end, highWaterMark: 1024 * 1024 }).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port, stats })));
}

const runners = {
  async tc({ torrent, url, out }) {
    return timed(process.execPath, [
      TC_BIN,
      torrent,
      '-o',
      out,
      '--web-seed',
      url,
      '--listen',
      '127.0.0.1',
      '--port',
      '0',
      '--no-dht',
      '--no-lsd',
      '--no-pex',
      '--quiet',
      '--first-peer-timeout',
      '60',
    ]);
  },
  async libtorrent({ torrent, url, out }) {
    // A libtorrent downloader with the web seed and nothing else (no DHT, LSD, UPnP), until finished.
    const script = `
import libtorrent as lt, time, sys
s = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False, 'alert_mask': 0})
p = lt.add_torrent_params()
p.ti = lt.torrent_info(${JSON.stringify(torrent)})
p.save_path = ${JSON.stringify(out)}
h = s.add_torrent(p)
h.add_url_seed(${JSON.stringify(url)})
while not h.status().is_seeding:
    if h.status().errc.value() != 0: sys.exit('error: ' + h.status().errc.message())
    time.sleep(0.05)
`;
    return timed(PY, ['-c', script]);
  },
};

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'tc-bench-ws-'));
  log(`bench/webseed: ${(SIZE / 1024 ** 3).toFixed(2)} GiB, 1 MiB pieces, ${ROUNDS} rounds, clients ${CLIENTS.join(', ')}, no peers`);
  const { file, torrent } = await makeData(dir, SIZE, PIECE);
  const { server, port, stats } = await rangeServer(file, SIZE);
  const url = `http://127.0.0.1:${port}/`;
  log(`range server on ${url}`);
  const results = Object.fromEntries(CLIENTS.map((c) => [c, []]));
  let expectedSha1;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of CLIENTS) {
        const out = join(dir, `out-${c}-${r}`);
        await mkdir(out, { recursive: true });
        const before = { ...stats };
        const res = await runners[c]({ torrent, url, out });
        const got = await stat(join(out, 'bench.bin'));
        if (got.size !== SIZE) throw new Error(`${c}: wrong size ${got.size}`);
        if (r === 0 && (await fileSha1(join(out, 'bench.bin'))) !== (expectedSha1 ??= await fileSha1(file))) throw new Error(`${c}: data differs`);
        res.requests = stats.requests - before.requests;
        res.servedMb = (stats.bytes - before.bytes) / 1e6;
        results[c].push(res);
        log(
          `round ${r + 1} ${c.padEnd(10)} ${res.wall.toFixed(2)} s  ${(SIZE / 1e6 / res.wall).toFixed(0)} MB/s  RSS ${res.rssMb.toFixed(0)} MB  CPU ${res.cpu.toFixed(2)} s  ${res.requests} requests, ${res.servedMb.toFixed(0)} MB served`,
        );
        await rm(out, { recursive: true, force: true });
      }
    }
  } finally {
    server.closeAllConnections();
    server.close();
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
      requests: median(rs.map((x) => x.requests)),
    };
  }
  const lines = [`median of ${ROUNDS} rounds, ${(SIZE / 1024 ** 3).toFixed(2)} GiB from one local Range server, node ${process.version}`];
  lines.push('client       wall s    MB/s   peak RSS MB   CPU s/GiB   requests');
  for (const c of CLIENTS) {
    const s = summary[c];
    lines.push(
      `${c.padEnd(12)} ${s.wallS.toFixed(2).padStart(6)} ${s.mbPerS.toFixed(0).padStart(7)} ${s.peakRssMb.toFixed(0).padStart(13)} ${s.cpuSPerGiB.toFixed(2).padStart(11)} ${String(s.requests).padStart(10)}`,
    );
  }
  if (summary.tc) for (const c of CLIENTS) if (c !== 'tc') lines.push(`tc / ${c}: ${(summary.tc.wallS / summary[c].wallS).toFixed(2)}`);
  if (opt.json) process.stdout.write(`${JSON.stringify({ sizeBytes: SIZE, rounds: ROUNDS, summary, results })}\n`);
  else process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e) => {
  log(e.stack ?? String(e));
  process.exit(1);
});
