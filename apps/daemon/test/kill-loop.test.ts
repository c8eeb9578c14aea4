import { mkdir, readFile, readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { BDict, decode } from '@tc/codec';
import { RESUME_SAVE_MS } from '@tc/engine';
import { startFixtureSeeder } from '@tc/testkit/fixture-seeder';
import type { LibtorrentPeer } from '@tc/testkit/libtorrent';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { startThrottleProxy, type ThrottleProxy } from '@tc/testkit/throttle-proxy';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Running } from './spawn.js';

/**
 * Issue 14, hostile and faulty input: SIGKILL the daemon in the middle of downloads 20 times. After
 * each restart every torrent is listed, no piece the resume data called verified is lost (so none is
 * downloaded again), each session downloads only about what it newly verifies, and the final bytes
 * are exact.
 *
 * The data comes from libtorrent seeders behind throttle proxies (libtorrent does not limit loopback
 * peers itself); a tiny HTTP tracker in this file hands out the proxies' addresses, so the daemon
 * dials them again by itself after every restart.
 */

const AUTH = 'kill:loop';
const CYCLES = 20;
const RATE_BPS = 96 * 1024;
/** The rate for the last session, which finishes the downloads. */
const FAST_BPS = 8 * 1024 * 1024;
const PIECE = 16 * 1024;
/** Pieces a cycle waits to see verified (per torrents torrent) before the kill. */
const ADVANCE_PIECES = 3;
/**
 * What one session may download beyond the pieces it newly verifies: the pieces it had in flight at
 * a kill (partial pieces are not in the resume data and are fetched again) plus endgame duplicates.
 * A session re-downloading verified data would exceed it by whole multiples of the torrent.
 */
const SESSION_SLACK = 24 * PIECE;

let tracker: Server;
let trackerUrl = '';
const peers = new Map<string, number>();

function fixture(name: string, seed: number, files: { path: string[]; length: number }[] | number): TestTorrent {
  return createTestTorrent({
    name,
    pieceLength: PIECE,
    ...(typeof files === 'number' ? { length: files } : { files }),
    announce: [trackerUrl],
    seed,
  });
}

let torrents: TestTorrent[] = [];
let tmp: { path: string; cleanup: () => Promise<void> };
const seeders: LibtorrentPeer[] = [];
const proxies: ThrottleProxy[] = [];
/** A fast proxy per seeder, handed out by the tracker for the last restart. */
const fast: ThrottleProxy[] = [];
let daemon: Running | undefined;

async function api(path: string, init: { method?: string; body?: unknown } = {}): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${daemon!.rpcPort}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Basic ${Buffer.from(AUTH).toString('base64')}`, 'content-type': 'application/json' },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return (await res.json()) as Record<string, unknown>;
}

interface View {
  readonly hashString: string;
  readonly state: string;
  readonly haveValid: number;
  readonly downloadedEver: number;
  readonly leftUntilDone: number;
  readonly restored?: { source: string; checked: number };
}

async function detail(hex: string): Promise<View> {
  return (await api(`/api/torrents/${hex}`)).torrent as View;
}

async function listed(): Promise<string[]> {
  const list = (await api('/api/torrents')).torrents as { hashString: string }[];
  return list.map((t) => t.hashString).sort();
}

/** Bytes of the verified pieces the resume file in the state folder claims for `t` (0 when there is none yet). */
async function resumeClaims(t: TestTorrent): Promise<number> {
  const dir = join(tmp.path, 'state', 'resume');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith(t.infoHashHex) && n.endsWith('.tc-resume'));
  if (names.length === 0) return 0;
  // Written atomically (temp file, then rename): a read sees one whole save or another.
  const top = decode(await readFile(join(dir, names[0]!)));
  const have = top instanceof BDict ? top.get('have') : undefined;
  if (!Buffer.isBuffer(have)) throw new Error(`resume file of ${t.name} has no have bitfield`);
  let bytes = 0;
  for (let i = 0; i * t.pieceLength < t.data.length; i++) {
    if ((have[i >> 3]! & (0x80 >> (i & 7))) !== 0) bytes += Math.min(t.pieceLength, t.data.length - i * t.pieceLength);
  }
  return bytes;
}

/** The bytes of a percent-encoded query value (the info-hash is binary, not UTF-8). */
function percentBytes(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(s.charCodeAt(i));
  }
  return Buffer.from(out);
}

beforeAll(async () => {
  tmp = await tempDir('tc-daemon-kill-loop-');
  // A compact-peers HTTP tracker naming only the throttle proxy of the torrent asked about.
  tracker = createServer((req, res) => {
    const query = (req.url ?? '').split('?')[1] ?? '';
    const raw =
      query
        .split('&')
        .find((kv) => kv.startsWith('info_hash='))
        ?.slice('info_hash='.length) ?? '';
    const hex = percentBytes(raw).toString('hex');
    const port = peers.get(hex);
    const compact = Buffer.alloc(port === undefined ? 0 : 6);
    if (port !== undefined) {
      compact.set([127, 0, 0, 1]);
      compact.writeUInt16BE(port, 4);
    }
    res.end(Buffer.concat([Buffer.from(`d8:intervali60e5:peers${compact.length}:`), compact, Buffer.from('e')]));
  });
  await new Promise<void>((r) => tracker.listen(0, '127.0.0.1', () => r()));
  const addr = tracker.address();
  trackerUrl = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}/announce`;
  torrents = [
    fixture('kl-album', 41, [
      { path: ['a.bin'], length: 1_700_000 },
      { path: ['b.bin'], length: 2_300_001 },
    ]),
    fixture('kl-single.bin', 42, 4_000_000),
  ];
  for (const [i, t] of torrents.entries()) {
    const work = join(tmp.path, `seed${i}`);
    await mkdir(work, { recursive: true });
    const seeder = await startFixtureSeeder(t, work, 'x.torrent');
    seeders.push(seeder);
    const proxy = await startThrottleProxy({ host: '127.0.0.1', port: seeder.port }, RATE_BPS);
    proxies.push(proxy);
    peers.set(t.infoHashHex, proxy.port);
    fast.push(await startThrottleProxy({ host: '127.0.0.1', port: seeder.port }, FAST_BPS));
  }
}, 60_000);

afterAll(async () => {
  daemon?.child.kill('SIGKILL');
  await Promise.all([...proxies, ...fast].map((p) => p.close()));
  await Promise.all(seeders.map((s) => s.stop()));
  await new Promise<void>((r) => (tracker ? tracker.close(() => r()) : r()));
  await tmp?.cleanup();
});

describe('tc-daemon killed with SIGKILL mid-download', () => {
  it(`${CYCLES} kills and restarts: every torrent stays, nothing verified is lost or fetched again, exact bytes`, async () => {
    daemon = await startDaemon(tmp.path, AUTH);
    for (const t of torrents) {
      const added = await api('/api/torrents', { method: 'POST', body: { torrent: t.torrent.toString('base64') } });
      expect((added.torrent as View).hashString).toBe(t.infoHashHex);
    }
    const hashes = torrents.map((t) => t.infoHashHex).sort();
    // Verified bytes at the start of the current session, per torrent.
    let atStart = new Map(torrents.map((t) => [t.infoHashHex, 0]));
    let kills = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      // Every fifth cycle lasts until a resume save has landed (at most RESUME_SAVE_MS after a new
      // piece), so the restarts trust resume data as well as re-check files changed since a save.
      const waitForSave = cycle % 5 === 4;
      const savedBefore = new Map<string, number>();
      for (const t of torrents) savedBefore.set(t.infoHashHex, await resumeClaims(t));
      let seen = '';
      await until(
        () => `cycle ${cycle}: progress (${seen})`,
        async () => {
          const views = await Promise.all(torrents.map((t) => detail(t.infoHashHex)));
          seen = views.map((v) => `${v.state} ${v.haveValid}`).join(', ');
          for (const [i, v] of views.entries()) {
            const t = torrents[i]!;
            if (v.leftUntilDone === 0) continue;
            if (v.haveValid < atStart.get(t.infoHashHex)! + ADVANCE_PIECES * PIECE) return false;
            if (waitForSave && (await resumeClaims(t)) <= savedBefore.get(t.infoHashHex)!) return false;
          }
          return true;
        },
        { timeoutMs: 20_000 + (waitForSave ? RESUME_SAVE_MS : 0), everyMs: 50 },
      );
      // Each session so far downloaded about what it newly verified, not data it already had.
      for (const t of torrents) {
        const v = await detail(t.infoHashHex);
        expect(v.downloadedEver, `${t.name} cycle ${cycle}`).toBeLessThanOrEqual(v.haveValid - atStart.get(t.infoHashHex)! + SESSION_SLACK);
      }
      // What the resume data claims right before the kill (a save after this read only claims more).
      const claimed = new Map<string, number>();
      for (const t of torrents) claimed.set(t.infoHashHex, await resumeClaims(t));
      // Every kill lands in the middle of both downloads.
      for (const t of torrents) expect((await detail(t.infoHashHex)).leftUntilDone, `${t.name} left at kill ${kills + 1}`).toBeGreaterThan(0);
      // The last restart finds fast peers at its first announce, so the tail does not take long.
      if (cycle === CYCLES - 1) for (const [i, t] of torrents.entries()) peers.set(t.infoHashHex, fast[i]!.port);
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      kills++;
      daemon = await startDaemon(tmp.path, AUTH);
      expect(await listed()).toEqual(hashes);
      const next = new Map<string, number>();
      for (const t of torrents) {
        // The restart has restored (from the resume file, re-checking files written after its save)
        // once the torrent runs; everything the resume data claimed is verified again at once.
        let v = await detail(t.infoHashHex);
        await until(
          () => `${t.name} restored after kill ${kills}: ${v.state}`,
          async () => ['downloading', 'seeding'].includes((v = await detail(t.infoHashHex)).state),
          { timeoutMs: 20_000, everyMs: 25 },
        );
        expect(v.restored?.source, t.name).not.toBe('fresh');
        expect(v.haveValid, `${t.name} after kill ${kills}`).toBeGreaterThanOrEqual(claimed.get(t.infoHashHex)!);
        next.set(t.infoHashHex, v.haveValid);
      }
      atStart = next;
    }
    expect(kills).toBe(CYCLES);

    // Finish: every byte exact, and the last session fetched only what was missing.
    for (const t of torrents) {
      let v = await detail(t.infoHashHex);
      await until(
        () => `${t.name} to complete: ${v.state} ${v.haveValid}/${t.data.length}`,
        async () => (v = await detail(t.infoHashHex)).state === 'seeding',
        { timeoutMs: 40_000, everyMs: 100 },
      );
      expect(v.downloadedEver).toBeLessThanOrEqual(t.data.length - atStart.get(t.infoHashHex)! + SESSION_SLACK);
      let off = 0;
      for (const f of t.files) {
        expect((await readFile(t.pathOf(join(tmp.path, 'root'), f))).equals(t.data.subarray(off, off + f.length)), t.name).toBe(true);
        off += f.length;
      }
    }
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    daemon = undefined;
  }, 150_000);
});
