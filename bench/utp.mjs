// Throughput of tc's uTP (@tc/utp) between two processes on 127.0.0.1, beside a plain TCP
// transfer of the same bytes (Node's net, same processes, same run), and optionally the same
// through a lossy proxy. The receiver runs in a child process so that each side has a core, as
// two peers would.
//
//   node bench/utp.mjs [--mib 64] [--rounds 3] [--modes tcp,udp,utp] [--libtorrent] [--json]
//
// --libtorrent adds, over uTP only, in the same run: a python3-libtorrent seeder → a libtorrent
// downloader, → tc (our uTP socket and wire codec requesting every block), and tc serving → a
// libtorrent downloader (libtorrent checks every piece). Timed from the downloader's start (for
// libtorrent: its `added` event) to the last byte (its `finished` event).
//
// Needs a built @tc/utp (npm run setup, or turbo run build --filter=@tc/utp). Run it in a private
// network namespace so nothing leaves loopback:
//   unshare --net -- sh -c 'ip link set lo up && node bench/utp.mjs'
import { fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer, connect as tcpConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { listenUtp } from '@tc/utp';
import { MessageDecoder, encodeHandshake, encodeMessage, generatePeerId } from '@tc/wire';
import { LT_SCRIPT, PY, ltPeer } from './lt.mjs';
import { flag, median, numberOption } from './common.mjs';

const SELF = fileURLToPath(import.meta.url);
// libtorrent speaking uTP only, and plaintext when it dials (INTEROP.md).
const UTP_ONLY = { enable_outgoing_tcp: false, enable_incoming_tcp: false, enable_outgoing_utp: true, enable_incoming_utp: true, out_enc_policy: 2 };
const PIECE = 256 * 1024;
const BLOCK = 16 * 1024;
const FEATURES = { fast: true, extended: false, dht: false };

// ---- child: a receiver that reads everything, hashes it, and reports ----
if (process.argv[2] === '--receiver') {
  const mode = process.argv[3];
  let elu0;
  const report = (bytes, hash, ms) => process.send({ type: 'done', bytes, hash, ms, elu: performance.eventLoopUtilization(elu0).utilization });
  const consume = (stream) => {
    const h = createHash('sha1');
    let bytes = 0;
    let t0;
    stream.on('data', (c) => {
      if (t0 === undefined) {
        t0 = performance.now();
        elu0 = performance.eventLoopUtilization();
      }
      bytes += c.length;
      h.update(c);
    });
    stream.on('end', () => {
      report(bytes, h.digest('hex'), performance.now() - t0);
      stream.end?.();
    });
    stream.on('error', () => undefined); // the sender may reset once it has its answer
  };
  if (mode === 'tcp') {
    const server = createServer((s) => consume(s));
    server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
  } else if (mode === 'udp') {
    // The ceiling: bare datagrams, no protocol. The first 4 bytes count packets; an 8-byte reply
    // every 32 packets (as uTP's acks come about once per 32) lets the sender keep a window.
    const sock = createSocket('udp4');
    const h = createHash('sha1');
    let bytes = 0;
    let got = 0;
    let t0;
    sock.on('message', (m, r) => {
      if (m.length === 4) {
        report(bytes, h.digest('hex'), performance.now() - t0);
        return;
      }
      t0 ??= performance.now();
      elu0 ??= performance.eventLoopUtilization();
      got++;
      bytes += m.length - 4;
      h.update(m.subarray(4));
      if (got % 32 === 0) {
        const ack = Buffer.alloc(8);
        ack.writeUInt32BE(got, 0);
        sock.send(ack, r.port, r.address);
      }
    });
    sock.bind(0, '127.0.0.1', () => {
      sock.setRecvBufferSize(4 * 1024 * 1024);
      process.send({ type: 'ready', port: sock.address().port });
    });
  } else {
    const ep = await listenUtp({ allowHalfOpen: true });
    ep.utp.on('connection', (s) => consume(s));
    process.send({ type: 'ready', port: ep.port });
  }
  process.on('message', (m) => {
    if (m === 'exit') process.exit(0);
  });
} else {
  await main();
}

function startReceiver(mode) {
  const child = fork(SELF, ['--receiver', mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (m) => resolve({ child, port: m.port }));
  });
}

function waitDone(child) {
  return new Promise((resolve) => child.once('message', (m) => resolve(m)));
}

async function writeAll(stream, data, chunk = 256 * 1024) {
  for (let i = 0; i < data.length; i += chunk) {
    if (!stream.write(data.subarray(i, i + chunk))) await new Promise((r) => stream.once('drain', r));
  }
  stream.end();
}

/** Bare UDP at uTP's packet size (1380 bytes of payload), a window of 512 packets, no loss recovery. */
async function blastUdp(port, data) {
  const PAYLOAD = 1380;
  const WINDOW = 512;
  const sock = createSocket('udp4');
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));
  sock.setSendBufferSize(4 * 1024 * 1024);
  const total = Math.ceil(data.length / PAYLOAD);
  let sent = 0;
  let acked = 0;
  await new Promise((resolve) => {
    const pump = () => {
      while (sent < total && sent - acked < WINDOW) {
        const chunk = data.subarray(sent * PAYLOAD, (sent + 1) * PAYLOAD);
        const b = Buffer.allocUnsafe(4 + chunk.length);
        b.writeUInt32BE(sent, 0);
        chunk.copy(b, 4);
        sock.send(b, port, '127.0.0.1');
        sent++;
      }
      if (sent === total && acked >= total - (total % 32)) resolve();
    };
    sock.on('message', (m) => {
      acked = Math.max(acked, m.readUInt32BE(0));
      pump();
    });
    pump();
  });
  sock.send(Buffer.alloc(4), port, '127.0.0.1'); // end marker
  await new Promise((r) => setTimeout(r, 20));
  sock.close();
}

async function oneTransfer(mode, data, expectHash) {
  const { child, port } = await startReceiver(mode);
  const done = waitDone(child);
  let ep;
  let stream;
  const t0 = performance.now();
  const elu0 = performance.eventLoopUtilization();
  if (mode === 'udp') {
    await blastUdp(port, data);
  } else if (mode === 'tcp') {
    stream = tcpConnect(port, '127.0.0.1');
    await new Promise((r) => stream.once('connect', r));
  } else {
    ep = await listenUtp({ allowHalfOpen: true });
    stream = ep.utp.connect(port, '127.0.0.1');
    await new Promise((r, j) => {
      stream.once('connect', r);
      stream.once('error', j);
    });
  }
  if (stream !== undefined) {
    stream.on('error', () => undefined);
    await writeAll(stream, data);
  }
  const r = await done;
  const ms = performance.now() - t0;
  const elu = { sender: performance.eventLoopUtilization(elu0).utilization, receiver: r.elu };
  const c = stream?.connection;
  const stats = { ...c?.stats, cwnd: c?.congestionWindowBytes, rttMs: c?.rttMs, delayUs: c?.delayUs, elu };
  child.send('exit');
  stream?.destroy();
  await ep?.close();
  if (r.bytes !== data.length || r.hash !== expectHash) throw new Error(`${mode}: received ${r.bytes} bytes, hash ${r.hash}`);
  return { ms, stats };
}

async function main() {
  const MIB = numberOption('mib', 64);
  const ROUNDS = numberOption('rounds', 3);
  const data = randomBytes(MIB * 1024 * 1024);
  const hash = createHash('sha1').update(data).digest('hex');
  const modes = (process.argv.includes('--modes') ? process.argv[process.argv.indexOf('--modes') + 1] : 'tcp,udp,utp').split(',');
  const times = Object.fromEntries(modes.map((m) => [m, []]));
  let lastUtpStats;
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so neither mode always runs on a warmer machine.
    for (const m of round % 2 === 0 ? modes : [...modes].reverse()) {
      const { ms, stats } = await oneTransfer(m, data, hash);
      times[m].push(ms);
      if (m === 'utp') lastUtpStats = stats;
    }
  }
  const mbps = (ms) => data.length / 1e6 / (ms / 1000);
  const result = Object.fromEntries(modes.map((m) => [m, { medianMs: median(times[m]), mbps: mbps(median(times[m])) }]));
  const lt = flag('libtorrent') ? await libtorrentRuns(data, ROUNDS) : undefined;
  if (flag('json')) {
    console.log(JSON.stringify({ schema: 1, mib: MIB, rounds: ROUNDS, node: process.version, result, libtorrent: lt, utpStats: lastUtpStats }));
    return;
  }
  console.log(`uTP vs TCP: ${MIB} MiB between two processes on 127.0.0.1, median of ${ROUNDS} rounds, ${process.version}`);
  console.log('transport   wall ms     MB/s');
  for (const m of modes) console.log(`${m.padEnd(10)} ${result[m].medianMs.toFixed(0).padStart(8)} ${result[m].mbps.toFixed(1).padStart(8)}`);
  if (result.utp && result.tcp) console.log(`uTP / TCP: ${(result.utp.mbps / result.tcp.mbps).toFixed(2)}`);
  if (result.utp && result.udp) console.log(`uTP / bare UDP: ${(result.utp.mbps / result.udp.mbps).toFixed(2)}`);
  console.log(`last uTP sender: ${JSON.stringify(lastUtpStats)}`);
  if (lt) {
    console.log(`\nover uTP only, ${MIB} MiB torrent (256 KiB pieces), median of ${ROUNDS}:`);
    console.log('seeder → downloader        ms     MB/s');
    for (const [name, ms] of Object.entries(lt)) console.log(`${name.padEnd(22)} ${ms.toFixed(0).padStart(8)} ${mbps(ms).toFixed(1).padStart(8)}`);
  }
}

/** Median ms of each libtorrent pairing, all over uTP. */
async function libtorrentRuns(data, rounds) {
  const dir = await mkdtemp(join(tmpdir(), 'tc-bench-utp-'));
  try {
    await mkdir(join(dir, 'seed'));
    const file = join(dir, 'seed', 'bench.bin');
    await writeFile(file, data);
    const torrent = join(dir, 'bench.torrent');
    const made = spawnSync(PY, [LT_SCRIPT, JSON.stringify({ mode: 'create', dataPath: file, torrentPath: torrent, pieceLength: PIECE })]);
    if (made.status !== 0) throw new Error(`torrent creation failed: ${made.stdout}${made.stderr}`);
    const created = JSON.parse(String(made.stdout).trim().split('\n').pop());
    const infoHash = Buffer.from(created.infoHash, 'hex');
    const seeder = ltPeer({ torrentPath: torrent, savePath: join(dir, 'seed'), seed: true, settings: UTP_ONLY });
    const { port } = await seeder.waitFor('listening');
    await seeder.waitFor('finished');
    const times = { 'libtorrent → libtorrent': [], 'libtorrent → tc': [], 'tc → libtorrent': [] };
    try {
      for (let r = 0; r < rounds; r++) {
        times['libtorrent → libtorrent'].push(await ltDownload(torrent, join(dir, `lt${r}`), port));
        times['libtorrent → tc'].push(await tcDownload(port, infoHash, data));
        times['tc → libtorrent'].push(await tcServe(torrent, join(dir, `tc${r}`), infoHash, data));
      }
    } finally {
      await seeder.stop();
    }
    return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function ltDownload(torrent, out, port) {
  await mkdir(out, { recursive: true });
  const d = ltPeer({ torrentPath: torrent, savePath: out, settings: UTP_ONLY, connectTo: [{ ip: '127.0.0.1', port }] });
  try {
    await d.waitFor('added');
    const t0 = performance.now();
    await d.waitFor('finished');
    return performance.now() - t0;
  } finally {
    await d.stop();
  }
}

/** Our uTP socket and wire decoder, keeping 256 requests in flight, every block checked. */
async function tcDownload(port, infoHash, data) {
  const pieces = Math.ceil(data.length / PIECE);
  const ep = await listenUtp({ allowHalfOpen: true });
  const t0 = performance.now();
  const s = ep.utp.connect(port, '127.0.0.1');
  const decoder = new MessageDecoder({ pieceCount: pieces, features: FEATURES });
  const blocks = [];
  for (let off = 0; off < data.length; off += BLOCK) blocks.push(off);
  let next = 0;
  let got = 0;
  const request = () => {
    while (next < blocks.length && next - got < 256) {
      const off = blocks[next++];
      s.write(encodeMessage({ type: 'request', index: Math.floor(off / PIECE), begin: off % PIECE, length: Math.min(BLOCK, data.length - off) }));
    }
  };
  await new Promise((resolve, reject) => {
    s.on('error', reject);
    s.on('data', (chunk) => {
      for (const m of decoder.push(chunk)) {
        if (m.type === 'have-all' || m.type === 'bitfield') s.write(encodeMessage({ type: 'interested' }));
        else if (m.type === 'unchoke') request();
        else if (m.type === 'piece') {
          const off = m.index * PIECE + m.begin;
          if (!m.block.equals(data.subarray(off, off + m.block.length))) reject(new Error(`block at ${off} differs`));
          got++;
          if (got === blocks.length) resolve();
          else request();
        }
      }
    });
    s.write(encodeHandshake({ infoHash, peerId: generatePeerId(), features: FEATURES }));
  });
  const ms = performance.now() - t0;
  s.destroy();
  await ep.close();
  return ms;
}

/** Our uTP socket serving every request of a libtorrent downloader, which hash-checks each piece. */
async function tcServe(torrent, out, infoHash, data) {
  await mkdir(out, { recursive: true });
  const ep = await listenUtp({ allowHalfOpen: true });
  ep.utp.on('connection', (s) => {
    const decoder = new MessageDecoder({ pieceCount: Math.ceil(data.length / PIECE), features: FEATURES });
    s.on('error', () => undefined);
    s.on('data', (chunk) => {
      for (const m of decoder.push(chunk)) {
        if (m.type === 'handshake') {
          s.write(encodeHandshake({ infoHash, peerId: generatePeerId(), features: FEATURES }));
          s.write(encodeMessage({ type: 'have-all' }));
        } else if (m.type === 'interested') s.write(encodeMessage({ type: 'unchoke' }));
        else if (m.type === 'request') {
          const off = m.index * PIECE + m.begin;
          s.write(encodeMessage({ type: 'piece', index: m.index, begin: m.begin, block: data.subarray(off, off + m.length) }));
        }
      }
    });
  });
  const d = ltPeer({ torrentPath: torrent, savePath: out, settings: UTP_ONLY, connectTo: [{ ip: '127.0.0.1', port: ep.port }] });
  try {
    await d.waitFor('added');
    const t0 = performance.now();
    await d.waitFor('finished');
    return performance.now() - t0;
  } finally {
    await d.stop();
    await ep.close();
  }
}
