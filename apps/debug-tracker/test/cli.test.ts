import { encode } from '@tc/codec';
import { startOpentracker, type Opentracker } from '@tc/testkit/opentracker';
import { tempDir } from '@tc/testkit/tmp';
import { httpAnnounce } from '@tc/tracker';
import { decodeHandshake, encodeHandshake, HANDSHAKE_BYTES } from '@tc/wire';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The built command, run as users run it: against a dead port and a live opentracker on loopback. */
const BIN = fileURLToPath(new URL('../bin/tc-debug-tracker.js', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', TZ: 'UTC' }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const info = { name: 'tc-debug-tracker-test', 'piece length': 16384, pieces: Buffer.alloc(20, 7), length: 10 };
const infoHash = createHash('sha1').update(encode(info)).digest();
const otherInfo = { ...info, name: 'not-whitelisted' };

let ot: Opentracker;
let dir: { path: string; cleanup: () => Promise<void> };
let peer: Server;
let peerPort: number;
let deadPort: number;
/** A UDP port nothing listens on: the kernel answers ICMP port unreachable. */
let closedUdpPort: number;
/** A UDP "tracker" that reads and never answers. */
let silent: Socket;
let torrentPath: string;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return typeof a === 'object' && a ? a.port : 0;
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(async () => {
  ot = await startOpentracker([infoHash]);
  dir = await tempDir('tc-debug-tracker-');
  deadPort = await freePort();
  closedUdpPort = await freeUdpPort();
  silent = createSocket('udp4');
  silent.on('message', () => undefined);
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
  // A peer that answers a BitTorrent handshake for our torrent.
  peer = createServer((sock) => {
    let got = Buffer.alloc(0);
    sock.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (got.length >= HANDSHAKE_BYTES) {
        const h = decodeHandshake(got.subarray(0, HANDSHAKE_BYTES));
        sock.end(encodeHandshake({ infoHash: h.infoHash, peerId: Buffer.from('-qB4520-abcdefghijkl') }));
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
  const a = peer.address();
  peerPort = typeof a === 'object' && a ? a.port : 0;
  await httpAnnounce(ot.httpUrl, {
    infoHash,
    peerId: Buffer.from('-qB4520-abcdefghijkl'),
    port: peerPort,
    uploaded: 0,
    downloaded: 0,
    left: 0,
    event: 'started',
    key: 1,
  });
  torrentPath = join(dir.path, 'two-tiers.torrent');
  await writeFile(
    torrentPath,
    encode({
      announce: `http://127.0.0.1:${deadPort}/announce`,
      'announce-list': [[`http://127.0.0.1:${deadPort}/announce`], [ot.httpUrl, ot.udpUrl]],
      info,
    }),
  );
  await writeFile(join(dir.path, 'other.torrent'), encode({ announce: ot.httpUrl, info: otherInfo }));
});

afterAll(async () => {
  await new Promise<void>((r) => (peer ? peer.close(() => r()) : r()));
  await new Promise<void>((r) => (silent ? silent.close(() => r()) : r()));
  await ot?.stop();
  await dir?.cleanup();
});

describe('tc-debug-tracker', () => {
  it('--help: no example wraps mid-command (issue 17)', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    const examples = r.stdout.split('Examples:\n')[1]!.split('\n\n')[0]!.split('\n');
    for (const line of examples) expect(line).toMatch(/^ {2}(tc-debug-tracker |# )/);
    expect(r.stdout).toContain('\n  tc-debug-tracker a.torrent --tracker udp://tracker.example:6969/announce --handshake 5\n');
  });

  it('reports the dead first tier’s cause and the live tracker’s peers, and checks handshakes', async () => {
    const r = await runCli([torrentPath, '--timeout', '10', '--handshake', '3']);
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toContain(`tracker  http://127.0.0.1:${deadPort}/announce  tier 1  FAILED`);
    expect(out).toMatch(/connect +failed after [0-9.]+ ms: refused: nothing listens on that port/);
    expect(out).toContain(`tracker  ${ot.httpUrl}  tier 2  OK`);
    expect(out).toContain(`tracker  ${ot.udpUrl}  tier 2  OK`);
    expect(out).toContain(`127.0.0.1:${peerPort}`);
    expect(out).toMatch(/1 seeder/);
    expect(out).toMatch(new RegExp(`handshake +127\\.0\\.0\\.1:${peerPort} answered in [0-9.]+ ms`));
    expect(out).toMatch(/summary +2 of 3 trackers answered/);
    expect(out).not.toMatch(/\x1b\[/);
  });

  it('prints a JSON document with the schema', async () => {
    const r = await runCli([torrentPath, '--json', '--timeout', '10']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ schema: 1, infoHash: infoHash.toString('hex'), name: info.name, answered: 2 });
    const trackers = doc.trackers as Record<string, unknown>[];
    expect(trackers).toHaveLength(3);
    for (const t of trackers) {
      expect(typeof t.url).toBe('string');
      expect(typeof t.tier).toBe('number');
      expect(typeof t.ok).toBe('boolean');
      expect(Array.isArray(t.addresses)).toBe(true);
    }
    const dead = trackers[0]!;
    expect(dead).toMatchObject({ ok: false, announce: null, failure: { step: 'connect', error: { code: 'TRACKER_REFUSED' } } });
    const live = trackers.find((t) => t.url === ot.udpUrl)!;
    expect(live).toMatchObject({ ok: true, failure: null, scrape: { seeders: 1 } });
    const announce = live.announce as { interval: number; seeders: number; peers: { ip: string; port: number; family: number }[] };
    expect(announce.interval).toBeGreaterThan(0);
    expect(announce.peers).toContainEqual({ ip: '127.0.0.1', port: peerPort, family: 4 });
  });

  it('exits 4 when no tracker answers, telling a closed UDP port (refused) from a silent UDP tracker (timeout)', async () => {
    const closed = `udp://127.0.0.1:${closedUdpPort}/announce`;
    const quiet = `udp://127.0.0.1:${silent.address().port}/announce`;
    const r = await runCli([torrentPath, '--tracker', closed, '--tracker', quiet, '--tracker', `http://127.0.0.1:${deadPort}/announce`, '--timeout', '1']);
    expect(r.code).toBe(4);
    const block = (url: string): string => r.stdout.split('\n\n').find((b) => b.startsWith(`tracker  ${url} `)) ?? '';
    expect(block(closed)).toMatch(
      /connect +failed after [0-9.]+ ms: refused: nothing listens on that port \(tracker down or wrong port\); error: port unreachable: nothing listens on UDP 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    );
    expect(block(quiet)).toMatch(/connect +failed after [0-9.]+ ms: timeout: no answer/);
    expect(r.stdout).toMatch(/summary +0 of 3 trackers answered/);
    // Every non-zero exit says why on stderr (issue 17).
    expect(r.stderr).toMatch(/^error: no tracker answered \(0 of 3\)\nhint: /m);
  });

  it('reports a closed UDP port as refused long before the first retransmission, in --json', async () => {
    const closed = `udp://127.0.0.1:${closedUdpPort}/announce`;
    const quiet = `udp://127.0.0.1:${silent.address().port}/announce`;
    // The overall limit (3 s) is past the first retransmission (2 s): the refusal, not the limit, ends the probe.
    const r = await runCli([torrentPath, '--tracker', closed, '--tracker', quiet, '--tracker', ot.udpUrl, '--json', '--timeout', '3']);
    expect(r.code).toBe(0);
    const trackers = (JSON.parse(r.stdout) as { trackers: Record<string, unknown>[] }).trackers;
    const byUrl = (url: string): Record<string, unknown> => trackers.find((t) => t.url === url)!;
    expect(byUrl(closed)).toMatchObject({ ok: false, connectMs: null, failure: { step: 'connect', error: { code: 'TRACKER_REFUSED' } } });
    // Timed by the report itself: under the 2 s a silence would cost before the first retransmission.
    expect((byUrl(closed).announce as { ms: number }).ms).toBeLessThan(2_000);
    expect((byUrl(closed).failure as { ms: number }).ms).toBeLessThan(2_000);
    expect(byUrl(quiet)).toMatchObject({ ok: false, failure: { step: 'connect', error: { code: 'TRACKER_TIMEOUT' } } });
    expect(byUrl(ot.udpUrl)).toMatchObject({ ok: true, failure: null, scrape: { seeders: 1 } });
  });

  it('shows the tracker’s failure reason', async () => {
    const r = await runCli([join(dir.path, 'other.torrent'), '--timeout', '5']);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/announce +failed after [0-9.]+ ms: tracker error: the tracker refused the request: "Requested download is not authorized/);
  });

  it('takes a magnet link, and shows raw exchanges with --verbose', async () => {
    const magnet = `magnet:?xt=urn:btih:${infoHash.toString('hex')}&tr=${encodeURIComponent(ot.udpUrl)}`;
    const r = await runCli([magnet, '--verbose', '--timeout', '5']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sent hex +0000041727101980/); // the BEP 15 connect request, in hex
    const h = await runCli([torrentPath, '--tracker', ot.httpUrl, '-v', '--timeout', '5']);
    expect(h.stdout).toMatch(/sent +GET http:\/\/127\.0\.0\.1:\d+\/announce\?info_hash=/);
    expect(h.stdout).toMatch(/received +HTTP 200/);
  });

  it('rejects bad usage with exit 2 and a bad torrent with exit 3', async () => {
    expect((await runCli([torrentPath, '--handshake', '-1'])).code).toBe(2);
    await writeFile(join(dir.path, 'bad.torrent'), 'not bencode');
    const bad = await runCli([join(dir.path, 'bad.torrent')]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/^error: /);
  });
});
