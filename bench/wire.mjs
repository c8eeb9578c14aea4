// Throughput of @tc/wire's MessageDecoder on piece messages, beside a plain Buffer.concat copy
// of the same bytes (the cost of touching every byte once) as the reference. Same process, same
// run, interleaved rounds: compare only the numbers of one run.
//
//   node bench/wire.mjs [--mib 64] [--rounds 7] [--json]
//
// Needs a built @tc/wire (npm run setup, or turbo run build --filter=@tc/wire).
import { encodePieceHeader, MessageDecoder } from '@tc/wire';
import { ensureExposedGc, flag, median, numberOption } from './common.mjs';

ensureExposedGc();

const MIB = numberOption('mib', 64);
const ROUNDS = numberOption('rounds', 7);
const JSON_OUT = flag('json');
const BLOCK = 16 * 1024;

// The stream a downloading connection sees: piece messages of 16 KiB blocks, back to back.
const blocks = (MIB * 1024 * 1024) / BLOCK;
const stream = Buffer.allocUnsafe(blocks * (13 + BLOCK));
for (let i = 0; i < blocks; i++) {
  const at = i * (13 + BLOCK);
  encodePieceHeader(Math.floor(i / 64), (i % 64) * BLOCK, BLOCK).copy(stream, at);
  stream.fill(i & 0xff, at + 13, at + 13 + BLOCK);
}
const payloadBytes = blocks * BLOCK;

function chunked(size) {
  const out = [];
  for (let i = 0; i < stream.length; i += size) out.push(stream.subarray(i, i + size));
  return out;
}

// Chunk sizes: a loopback socket read (64 KiB, Node's default highWaterMark), an MTU-sized read,
// and a large read that holds many whole messages.
const CASES = [
  { name: '64 KiB chunks', chunks: chunked(64 * 1024) },
  { name: '1460 B chunks', chunks: chunked(1460) },
  { name: '1 MiB chunks', chunks: chunked(1024 * 1024) },
];

function timeIt(fn) {
  globalThis.gc();
  const t0 = process.hrtime.bigint();
  const r = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, r };
}

function decodeAll(chunks) {
  const d = new MessageDecoder({ handshake: false });
  let n = 0;
  let bytes = 0;
  for (const c of chunks) {
    for (const m of d.push(c)) {
      n++;
      bytes += m.block.length;
    }
  }
  if (n !== blocks || bytes !== payloadBytes) throw new Error(`decoded ${n} messages, ${bytes} bytes`);
  return n;
}

function concatAll(chunks) {
  const b = Buffer.concat(chunks);
  if (b.length !== stream.length) throw new Error('short copy');
  return b.length;
}

// A second reference: the same bytes copied into one buffer allocated once (bare memcpy speed,
// without the page faults of Buffer.concat's fresh 64 MiB allocation).
const target = Buffer.alloc(stream.length);
function copyAll(chunks) {
  let at = 0;
  for (const c of chunks) at += c.copy(target, at);
  return at;
}

const mbps = (ms) => stream.length / 1e6 / (ms / 1000);

const results = [];
for (const c of CASES) {
  for (let w = 0; w < 3; w++) decodeAll(c.chunks); // warm-up: let the JIT settle
  concatAll(c.chunks);
  copyAll(c.chunks);
  const dec = [];
  const cat = [];
  const cpy = [];
  for (let r = 0; r < ROUNDS; r++) {
    dec.push(timeIt(() => decodeAll(c.chunks)).ms);
    cat.push(timeIt(() => concatAll(c.chunks)).ms);
    cpy.push(timeIt(() => copyAll(c.chunks)).ms);
  }
  results.push({
    case: c.name,
    chunks: c.chunks.length,
    decoderMBps: Math.round(mbps(median(dec))),
    concatMBps: Math.round(mbps(median(cat))),
    copyMBps: Math.round(mbps(median(cpy))),
    decoderMs: Number(median(dec).toFixed(1)),
    concatMs: Number(median(cat).toFixed(1)),
  });
}

const meta = { node: process.version, streamMiB: Number((stream.length / 2 ** 20).toFixed(1)), blocks, rounds: ROUNDS };
if (JSON_OUT) {
  console.log(JSON.stringify({ schema: 1, bench: 'wire-decoder', ...meta, results }, null, 2));
} else {
  console.log(`wire decoder: ${blocks} piece messages of 16 KiB (${meta.streamMiB} MiB), median of ${ROUNDS} rounds, ${process.version}`);
  console.log('case             chunks   decoder MB/s   Buffer.concat MB/s   copy into reused buffer MB/s');
  for (const r of results) {
    console.log(
      `${r.case.padEnd(16)} ${String(r.chunks).padStart(6)}   ${String(r.decoderMBps).padStart(12)}   ${String(r.concatMBps).padStart(18)}   ${String(r.copyMBps).padStart(28)}`,
    );
  }
}
