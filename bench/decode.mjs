// Decode throughput of @tc/codec on a large .torrent, beside the `bencode` package's decode and
// `parse-torrent`'s full parse. Same process, same input, interleaved rounds: compare only the
// numbers of one run.
//
//   node bench/decode.mjs [--pieces 45000] [--files 5000] [--rounds 9] [--json]
//
// Needs a built @tc/codec (npm run setup, or turbo run build --filter=@tc/codec).
import { decode, encode, parseMetainfo } from '@tc/codec';
import bencode from 'bencode';
import parseTorrent from 'parse-torrent';
import { ensureExposedGc, flag, median, numberOption } from './common.mjs';

ensureExposedGc();

const PIECES = numberOption('pieces', 45_000);
const FILES = numberOption('files', 5_000);
const ROUNDS = numberOption('rounds', 9);
const JSON_OUT = flag('json');
const PIECE_LENGTH = 256 * 1024;

// A large multi-file torrent, shaped like real ones: nested folders, trackers, web seeds, a comment.
function makeTorrent() {
  const total = PIECES * PIECE_LENGTH - 1000;
  const files = [];
  let left = total;
  for (let i = 0; i < FILES; i++) {
    const length = i === FILES - 1 ? left : Math.floor(total / FILES);
    left -= length;
    files.push({ length, path: [`season ${String(i % 20).padStart(2, '0')}`, `disc ${i % 7}`, `file-${String(i).padStart(6, '0')} ünïcödé.mkv`] });
  }
  const pieces = Buffer.alloc(PIECES * 20);
  for (let i = 0; i < pieces.length; i++) pieces[i] = (i * 131 + 7) & 0xff;
  return encode({
    announce: 'http://127.0.0.1:6969/announce',
    'announce-list': [['http://127.0.0.1:6969/announce'], ['udp://127.0.0.1:6969/announce']],
    comment: 'tc decode bench',
    'created by': 'tc',
    'creation date': 1_700_000_000,
    info: { files, name: 'bench', 'piece length': PIECE_LENGTH, pieces },
    'url-list': ['http://127.0.0.1:8080/'],
  });
}

const torrent = makeTorrent();

// How many decodes make one timed step: about 20 MB of input, so a step lasts long enough to time.
const REPS = Math.max(1, Math.round((20 * 1024 * 1024) / torrent.length));

const CONTENDERS = [
  { name: 'tc decode (lenient)', run: () => decode(torrent, { mode: 'lenient' }) },
  { name: 'tc decode (strict)', run: () => decode(torrent) },
  { name: 'tc parseMetainfo (full)', run: () => parseMetainfo(torrent) },
  { name: 'bencode.decode', run: () => bencode.decode(torrent) },
  { name: 'parse-torrent (full)', run: () => parseTorrent(torrent) },
];

// Sanity: every contender reads this torrent, and the full parsers agree on the info-hash.
const ours = parseMetainfo(torrent).metainfo;
const theirs = await parseTorrent(torrent);
if (ours.infoHashHex !== theirs.infoHash || ours.files.length !== theirs.files.length) {
  throw new Error(`parsers disagree: ${ours.infoHashHex} vs ${theirs.infoHash}`);
}

async function step(c) {
  globalThis.gc();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < REPS; i++) await c.run();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return (torrent.length * REPS) / 1e6 / (ms / 1000);
}

const samples = new Map(CONTENDERS.map((c) => [c.name, []]));
for (const c of CONTENDERS) await step(c); // warm up the JIT for everyone
for (let r = 0; r < ROUNDS; r++) {
  for (const c of CONTENDERS) samples.get(c.name).push(await step(c));
}

const results = CONTENDERS.map((c) => ({ name: c.name, mbPerS: median(samples.get(c.name)) }));
const bencodeMbPerS = results.find((r) => r.name === 'bencode.decode').mbPerS;
if (JSON_OUT) {
  console.log(JSON.stringify({ schema: 1, bytes: torrent.length, pieces: PIECES, files: FILES, rounds: ROUNDS, node: process.version, results }, null, 2));
} else {
  console.log(
    `decode bench: ${(torrent.length / 1e6).toFixed(2)} MB torrent, ${PIECES} pieces, ${FILES} files, ` +
      `${REPS} decodes per step, median of ${ROUNDS} rounds, ${process.version}`,
  );
  console.log(`${'contender'.padEnd(26)}${'MB/s'.padStart(9)}${'vs bencode'.padStart(12)}`);
  for (const r of results) {
    console.log(`${r.name.padEnd(26)}${r.mbPerS.toFixed(1).padStart(9)}${`${(r.mbPerS / bencodeMbPerS).toFixed(2)}×`.padStart(12)}`);
  }
}
const strict = results.find((r) => r.name === 'tc decode (strict)').mbPerS;
if (strict <= bencodeMbPerS) {
  console.error(`warning: tc strict decode (${strict.toFixed(1)} MB/s) was not faster than bencode (${bencodeMbPerS.toFixed(1)} MB/s) in this run`);
  process.exitCode = 1;
}
