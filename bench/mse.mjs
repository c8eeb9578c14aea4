// MSE/PE costs in @tc/wire: the RC4 keystream (WebAssembly kernel, and the JavaScript loop it
// replaced) beside plain copies of the same bytes, then whole
// streams over a loopback TCP connection (raw socket, MseStream passing plaintext through, and
// MseStream with RC4). Same process, same run, interleaved rounds: compare within one run only.
//
//   node bench/mse.mjs [--mib 64] [--stream-mib 128] [--rounds 7] [--json]
//
// Needs a built @tc/wire (npm run setup, or turbo run build --filter=@tc/wire). The stream part
// opens sockets on 127.0.0.1: run it in a network namespace like the tests if you like
// (unshare --net -- sh -c 'ip link set lo up && node bench/mse.mjs').
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { mseAccept, mseConnect, mseInfoHashLookup, Rc4 } from '@tc/wire';
import { ensureExposedGc, flag, median, numberOption } from './common.mjs';

ensureExposedGc();

const MIB = numberOption('mib', 64);
const STREAM_MIB = numberOption('stream-mib', 128);
const ROUNDS = numberOption('rounds', 7);
const JSON_OUT = flag('json');
// 16 KiB: one block, the unit the engine writes; 64 KiB: one loopback socket read.
const CHUNKS = [16 * 1024, 64 * 1024];

const data = Buffer.alloc(MIB * 1024 * 1024);
for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff;
const target = Buffer.alloc(data.length);
const key = Buffer.alloc(20, 7);

function timeIt(fn) {
  globalThis.gc();
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const contenders = {
  'rc4 js loop, in place': (size) => {
    // The reference loop in JavaScript (Rc4.processJs), for comparison with the kernel.
    const r = new Rc4(key);
    for (let at = 0; at < data.length; at += size) r.processJs(data.subarray(at, at + size));
  },
  'rc4 in place': (size) => {
    const r = new Rc4(key);
    for (let at = 0; at < data.length; at += size) r.process(data.subarray(at, at + size));
  },
  'rc4 into a new buffer': (size) => {
    // What MseStream does on write: the caller's buffer stays as it was.
    const r = new Rc4(key);
    for (let at = 0; at < data.length; at += size) {
      const src = data.subarray(at, at + size);
      r.process(src, Buffer.allocUnsafe(src.length));
    }
  },
  'copy into a reused buffer': (size) => {
    for (let at = 0; at < data.length; at += size) data.copy(target, at, at, at + size);
  },
  'Buffer.from copy': (size) => {
    for (let at = 0; at < data.length; at += size) Buffer.from(data.subarray(at, at + size));
  },
};

const cipherResults = [];
for (const size of CHUNKS) {
  const times = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (const f of Object.values(contenders)) f(size); // warm-up
  for (let r = 0; r < ROUNDS; r++) for (const [k, f] of Object.entries(contenders)) times[k].push(timeIt(() => f(size)));
  for (const [k, ts] of Object.entries(times)) {
    cipherResults.push({ contender: k, chunkBytes: size, MBps: Math.round(data.length / 1e6 / (median(ts) / 1000)) });
  }
}

// Streams: one connection per round, STREAM_MIB written in 16 KiB blocks from the client, read to the
// end by the server. Both ends run on this one thread, so RC4 runs twice per byte here (encrypt and
// decrypt) where a real transfer splits that between two machines.
const infoHash = Buffer.alloc(20, 1);
const block = Buffer.alloc(16 * 1024, 0x5a);
const total = STREAM_MIB * 1024 * 1024;

async function streamRound(mode) {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection').then(async ([socket]) => {
    if (mode === 'raw socket') return socket;
    const r = await mseAccept(socket, { lookup: mseInfoHashLookup([infoHash]) });
    return r.stream;
  });
  const socket = connect({ host: '127.0.0.1', port: server.address().port });
  await once(socket, 'connect');
  const out = mode === 'raw socket' ? socket : (await mseConnect(socket, { infoHash, provide: [mode === 'MseStream rc4' ? 'rc4' : 'plaintext'] })).stream;
  const inp = await accepted;
  globalThis.gc();
  const t0 = process.hrtime.bigint();
  let got = 0;
  const done = new Promise((resolve) => {
    inp.on('data', (c) => {
      got += c.length;
    });
    inp.on('end', resolve);
  });
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      sent += block.length;
      if (!out.write(block)) return out.once('drain', pump);
    }
    out.end();
  };
  pump();
  await done;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (got !== total) throw new Error(`${mode}: received ${got} of ${total} bytes`);
  inp.destroy();
  out.destroy();
  server.close();
  return ms;
}

const streamModes = ['raw socket', 'MseStream plaintext', 'MseStream rc4'];
const streamTimes = Object.fromEntries(streamModes.map((m) => [m, []]));
for (const m of streamModes) await streamRound(m); // warm-up
for (let r = 0; r < Math.max(3, Math.ceil(ROUNDS / 2)); r++) for (const m of streamModes) streamTimes[m].push(await streamRound(m));
const streamResults = streamModes.map((m) => ({ mode: m, MBps: Math.round(total / 1e6 / (median(streamTimes[m]) / 1000)) }));

const meta = { node: process.version, cipherMiB: MIB, streamMiB: STREAM_MIB, rounds: ROUNDS };
if (JSON_OUT) {
  console.log(JSON.stringify({ schema: 1, bench: 'mse', ...meta, cipher: cipherResults, streams: streamResults }, null, 2));
} else {
  console.log(`MSE bench: RC4 over ${MIB} MiB, median of ${ROUNDS} rounds; streams of ${STREAM_MIB} MiB over loopback TCP; ${process.version}`);
  console.log('contender                      chunk      MB/s');
  for (const r of cipherResults) console.log(`${r.contender.padEnd(30)} ${String(r.chunkBytes / 1024).padStart(3)} KiB ${String(r.MBps).padStart(8)}`);
  console.log('stream (client → server, one process)     MB/s');
  for (const r of streamResults) console.log(`${r.mode.padEnd(40)} ${String(r.MBps).padStart(6)}`);
}
