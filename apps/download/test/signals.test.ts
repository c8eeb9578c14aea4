import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { constants as os } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TrackerClient } from '@tc/tracker';
import { startOpentracker, type Opentracker } from '@tc/testkit/opentracker';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';

/**
 * RELIABILITY.md #32: a first Ctrl-C stops gracefully (the `stopped` announce), a second forces
 * the exit, and a first whose graceful stop hangs still ends within the watchdog's 5 s. Real
 * SIGINTs to a spawned tc-download; each step waits for the child's output or the tracker's state.
 */

const BIN = resolve(import.meta.dirname, '../bin/tc-download.js');
/** How long a child may take for everything a test asks of it before the test fails. */
const CHILD_LIMIT_MS = 30_000;

let t: TestTorrent;
let tracker: Opentracker;
let work: { path: string; cleanup: () => Promise<void> };
const children: ChildProcess[] = [];
const fds: number[] = [];
let fifos = 0;

beforeAll(async () => {
  work = await tempDir('tc-signals-');
  tracker = await startOpentracker([]);
  t = createTestTorrent({ name: 'pack.bin', pieceLength: 32 * 1024, length: 300_000, seed: 12, announce: [tracker.httpUrl] });
  await tracker.allow([t.infoHash]);
  await writeFile(join(work.path, 'pack.torrent'), t.torrent);
});

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const fd of fds.splice(0)) closeSync(fd);
});

afterAll(async () => {
  await tracker?.stop();
  await work?.cleanup();
});

interface Child {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  /** The exit status a shell reports: the code, or 128 + the signal's number when a signal ended it. */
  readonly status: Promise<number>;
}

/** tc-download on `pack.torrent` with no peer but the tracker's (it waits for peers until stopped). */
function startDownload(extra: string[] = []): Child {
  const child = spawn(process.execPath, [BIN, 'pack.torrent', '-o', join(work.path, 'out'), '--listen', '127.0.0.1', '--first-peer-timeout', '600', ...extra], {
    cwd: work.path,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', TC_DHT_BOOTSTRAP: '', TC_LSD: '0', TZ: 'UTC' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const status = new Promise<number>((r) => child.on('close', (code, signal) => r(code ?? 128 + os.signals[signal!])));
  return { child, stderr: () => stderr, status };
}

/** Leechers the tracker counts for the torrent (opentracker forgets a peer at once on `stopped`). */
async function leechers(): Promise<number> {
  const client = new TrackerClient();
  try {
    const r = await client.scrape(tracker.httpUrl, [t.infoHash]);
    return r.files.get(t.infoHashHex)?.incomplete ?? 0;
  } finally {
    await client.close();
  }
}

/**
 * A `--log` that blocks: a FIFO whose pipe buffer this test fills and never reads. tc-download
 * opens it (the test's descriptor is a reader), and its first log write then waits for ever, as on
 * a disk that stopped answering; closing the log is part of the graceful stop, which therefore hangs.
 */
function stuckLog(): string {
  const path = join(work.path, `stuck-${++fifos}.log`);
  execFileSync('mkfifo', [path]);
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  fds.push(fd);
  const chunk = Buffer.alloc(4096, 0x20);
  for (;;) {
    try {
      writeSync(fd, chunk);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return path;
      throw e;
    }
  }
}

describe('tc-download and Ctrl-C (RELIABILITY.md #32)', () => {
  it('a first Ctrl-C announces `stopped` to the tracker before exiting with 130', async () => {
    const tc = startDownload(['--progress', 'none']);
    await until(
      () => `the tracker to count tc (stderr: ${tc.stderr()})`,
      async () => (await leechers()) === 1,
      { timeoutMs: CHILD_LIMIT_MS, everyMs: 100 },
    );
    tc.child.kill('SIGINT');
    expect(await tc.status).toBe(130);
    expect(tc.stderr()).toContain('interrupted: stopping (announcing "stopped" to trackers)');
    // tc waited for the tracker's answer before it exited: the tracker has forgotten it already.
    expect(await leechers()).toBe(0);
  });

  it('a second Ctrl-C forces the exit (130) while the graceful stop hangs', async () => {
    const tc = startDownload(['--progress', 'plain', '--log', stuckLog()]);
    // The first plain progress line comes with the first status tick: the torrent runs.
    await until(
      () => `a progress line (stderr: ${tc.stderr()})`,
      () => /^pack\.bin: /m.test(tc.stderr()),
      { timeoutMs: CHILD_LIMIT_MS, everyMs: 50 },
    );
    tc.child.kill('SIGINT');
    await until(
      () => `the graceful stop to begin (stderr: ${tc.stderr()})`,
      () => tc.stderr().includes('interrupted: stopping'),
      { timeoutMs: CHILD_LIMIT_MS, everyMs: 20 },
    );
    tc.child.kill('SIGINT');
    expect(await tc.status).toBe(130);
    expect(tc.stderr()).toContain('interrupted again: exiting now');
    expect(tc.stderr()).not.toContain('exiting now without finishing');
  });

  it('a first Ctrl-C whose graceful stop hangs still exits (130) once the 5 s watchdog fires', async () => {
    const tc = startDownload(['--progress', 'plain', '--log', stuckLog()]);
    await until(
      () => `a progress line (stderr: ${tc.stderr()})`,
      () => /^pack\.bin: /m.test(tc.stderr()),
      { timeoutMs: CHILD_LIMIT_MS, everyMs: 50 },
    );
    tc.child.kill('SIGINT');
    expect(await tc.status).toBe(130);
    expect(tc.stderr()).toContain('interrupted: stopping');
    expect(tc.stderr()).toMatch(/still stopping after 5 s: exiting now without finishing/);
  });
});
