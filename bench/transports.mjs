// tc downloading from a tc seeder over each transport and encryption, side by side in one run (issue 12).
//   node bench/transports.mjs [--mib 64] [--json]
// Both engines run in this process on 127.0.0.1, data in memory (no disk). Needs a built @tc/engine.
// Run it in a private network namespace: unshare --net -- sh -c 'ip link set lo up && node bench/transports.mjs'
import { createHash, randomBytes } from 'node:crypto';
import { encode, parseMetainfo } from '@tc/codec';
import { memoryStorage, Session, sourceFromMetainfo } from '@tc/engine';
import { ensureExposedGc, flag, numberOption } from './common.mjs';

ensureExposedGc();
const mib = numberOption('mib', 64);
const pieceLength = 256 * 1024;
const data = randomBytes(mib * 1024 * 1024);
const hashes = [];
for (let o = 0; o < data.length; o += pieceLength)
  hashes.push(
    createHash('sha1')
      .update(data.subarray(o, o + pieceLength))
      .digest(),
  );
// A real v1 torrent of the data, read the way tc-download reads one (@tc/engine keeps makeLayout internal).
const src = sourceFromMetainfo(
  parseMetainfo(encode({ info: { length: data.length, name: 'bench.bin', 'piece length': pieceLength, pieces: Buffer.concat(hashes) } })).metainfo,
);
const { layout } = src;

async function run(label, opts) {
  const base = { listenHost4: '127.0.0.1', listenHost6: null };
  const seeder = await Session.create({ ...base, ...opts });
  const store = memoryStorage();
  const seedStore = {
    async open(l) {
      const s = await store.open(l);
      for (let i = 0; i < l.pieceCount; i++) await s.write(i, 0, [data.subarray(i * pieceLength, Math.min(data.length, (i + 1) * pieceLength))]);
      return s;
    },
  };
  await seeder.add(src, { storage: seedStore, have: Array.from({ length: layout.pieceCount }, (_, i) => i), noTrackers: true });
  const leecher = await Session.create({ ...base, ...opts });
  globalThis.gc();
  const t0 = performance.now();
  const tor = await leecher.add(src, { storage: memoryStorage(), noTrackers: true, peers: [{ host: '127.0.0.1', port: seeder.port }] });
  let link;
  tor.on('peer-connected', () => (link ??= tor.peerList()[0]?.link));
  await tor.done;
  const s = (performance.now() - t0) / 1000;
  await leecher.close();
  await seeder.close();
  return { label, seconds: +s.toFixed(2), mbPerS: +(data.length / 1e6 / s).toFixed(1), link };
}

const rows = [];
rows.push(await run('tc<->tc TCP plain', { transport: 'tcp', encryption: 'allow' }));
rows.push(await run('tc<->tc uTP plain', { transport: 'utp', encryption: 'allow' }));
rows.push(await run('tc<->tc TCP RC4', { transport: 'tcp', encryption: 'require' }));
rows.push(await run('tc<->tc uTP RC4', { transport: 'utp', encryption: 'require' }));
if (flag('json')) console.log(JSON.stringify({ mib, rows }));
else
  for (const r of rows) console.log(`${r.label.padEnd(20)} ${String(r.seconds).padStart(7)} s ${String(r.mbPerS).padStart(8)} MB/s  ${JSON.stringify(r.link)}`);
