import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureIo } from '@tc/cli';
import { formatMagnet, parseMetainfo } from '@tc/codec';
import { startFakeMetadataPeer } from '@tc/testkit/fake-metadata-peer';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { run } from '../src/run.js';

/** Issue 15 end to end: the first finding in the status line, in `--json`, and as the reason of exit 4. */

let work: { path: string; cleanup: () => Promise<void> };
let torrent: Buffer;

beforeAll(async () => {
  work = await tempDir();
  const t = createTestTorrent({ name: 'why', pieceLength: 16 * 1024, length: 100_000, announce: ['http://127.0.0.1:1/announce'] });
  torrent = t.torrent;
  await writeFile(join(work.path, 'why.torrent'), t.torrent);
});
afterAll(async () => {
  await work.cleanup();
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

describe('tc-download says why it is stuck', () => {
  it('a peer list of closed ports: --json carries peers-unreachable, and exit 4 gives it as the reason', async () => {
    const out = await tempDir();
    try {
      const io = captureIo({ cwd: work.path });
      const peer = `127.0.0.1:${await closedPort()}`;
      const code = await run(['why.torrent', '-o', out.path, '--listen', '127.0.0.1', '--peer', peer, '--first-peer-timeout', '14', '--json'], io);
      expect(code).toBe(4);
      const statuses = io
        .out()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; findings?: { code: string; text: string; facts: Record<string, unknown>; advice: string }[] });
      const last = statuses.filter((s) => s.type === 'status').at(-1);
      expect(last?.findings?.[0]).toMatchObject({ code: 'peers-unreachable', facts: { failed: { refused: expect.any(Number) as number }, incomingEver: 0 } });
      expect(last?.findings?.[0]?.text).toMatch(
        /^peers known but none connect: 1 address, \d+ failed dials? \(100% refused\); nobody has connected to us either$/,
      );
      expect(io.err()).toMatch(/^error: no peers found within 14 s \(peers known but none connect: .*100% refused.*\)\nhint: the peers refuse connections/m);
    } finally {
      await out.cleanup();
    }
  }, 30_000);

  it('a magnet whose only peer rejects every metadata request: exit 4, metadata not arriving', async () => {
    const mi = parseMetainfo(torrent).metainfo;
    const fake = await startFakeMetadataPeer({ infoHash: mi.infoHash, announcedSize: mi.infoBytes.length });
    const out = await tempDir();
    try {
      const io = captureIo({ cwd: work.path });
      const magnet = formatMagnet({ infoHash: mi.infoHash, peers: [{ host: '127.0.0.1', port: fake.port }] });
      const code = await run([magnet, '-o', out.path, '--listen', '127.0.0.1', '--first-peer-timeout', '2', '--quiet'], io);
      expect(code).toBe(4);
      expect(io.err()).toMatch(
        /^error: no peer sent the metadata within 2 s \(metadata not arriving: \d+ requests? rejected by 1 offering peer; trackers: the magnet link lists none; DHT: [^)]*\)/m,
      );
    } finally {
      await fake.close();
      await out.cleanup();
    }
  }, 30_000);
});
