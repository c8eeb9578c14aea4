import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startFixtureSeeder } from '@tc/testkit/fixture-seeder';
import type { LibtorrentPeer } from '@tc/testkit/libtorrent';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Running } from './spawn.js';

/** Debian's chromium (.ci/run installs it): Playwright's own browser downloads cannot be fetched here. */
const CHROMIUM = '/usr/bin/chromium';
/** Where the screenshot goes: the repository's test-artifacts folder (ignored by git). */
const ARTIFACTS = resolve(import.meta.dirname, '..', '..', '..', 'test-artifacts');
const AUTH = 'web:pass';
const [USER, PASS] = AUTH.split(':') as [string, string];

const t = createTestTorrent({
  name: 'webpack',
  pieceLength: 32 * 1024,
  files: [
    { path: ['first.bin'], length: 200_000 },
    { path: ['second.bin'], length: 260_000 },
  ],
  seed: 33,
});

let tmp: { path: string; cleanup: () => Promise<void> };
let seeder: LibtorrentPeer;
let daemon: Running | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  tmp = await tempDir('tc-daemon-ui-');
  seeder = await startFixtureSeeder(t, tmp.path, 'webpack.torrent');
  daemon = await startDaemon(tmp.path, AUTH);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  daemon?.child.kill('SIGTERM');
  await daemon?.exited;
  await seeder?.stop();
  await tmp?.cleanup();
});

async function apiTorrent(): Promise<Record<string, unknown> | undefined> {
  const res = await fetch(`http://127.0.0.1:${daemon!.rpcPort}/api/torrents`, { headers: { authorization: `Basic ${Buffer.from(AUTH).toString('base64')}` } });
  return ((await res.json()) as { torrents: Record<string, unknown>[] }).torrents[0];
}

describe('tc-daemon web page in Chromium', () => {
  it('adds a torrent by file upload, shows it complete, toggles a file, removes it', async () => {
    const context = await browser!.newContext({ httpCredentials: { username: USER, password: PASS }, viewport: { width: 900, height: 600 } });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${daemon!.rpcPort}/`);
    await page.locator('#conn', { hasText: 'live' }).waitFor();
    await page.setInputFiles('#add-file', join(tmp.path, 'webpack.torrent'));
    await page.click('#add button[type=submit]');
    await page.locator('#t1').waitFor();
    await until('downloading', async () => (await apiTorrent())?.state === 'downloading', { timeoutMs: 10_000 });
    seeder.connect('127.0.0.1', daemon!.peerPort);
    await page.locator('#t1[data-state=seeding]', { hasText: '100%' }).waitFor({ timeout: 60_000 });
    expect(await readFile(join(tmp.path, 'root', 'webpack', 'second.bin'))).toEqual(t.data.subarray(200_000));
    await page.click('#t1 td.name');
    await page.locator('#files li', { hasText: 'second.bin' }).waitFor();
    // Each file has a link that streams it (issue 14), by the stable info-hash URL, with Range support
    // (before the toggle below, which restarts the torrent with the new selection).
    const hash = String((await apiTorrent())?.hashString);
    const href = await page.locator('#files li').nth(0).locator('a.stream').getAttribute('href');
    expect(href).toBe(`/api/torrents/${hash}/files/0/stream`);
    const part = await context.request.get(`http://127.0.0.1:${daemon!.rpcPort}${href}`, { headers: { range: 'bytes=1000-1999' } });
    expect(part.status()).toBe(206);
    expect(Buffer.from(await part.body())).toEqual(t.data.subarray(1000, 2000));
    await page.locator('#files li').nth(1).locator('input.wanted').uncheck();
    await until('second.bin unwanted', async () => (await apiTorrent())?.sizeWhenDone === 200_000, { timeoutMs: 10_000 });
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'daemon-ui.png'), fullPage: true });
    await page.click('#t1 button.remove');
    await page.locator('#t1').waitFor({ state: 'detached' });
    expect(await apiTorrent()).toBeUndefined();
    // Removed without its data: the files stay.
    expect(existsSync(join(tmp.path, 'root', 'webpack', 'first.bin'))).toBe(true);
    await context.close();
  });
});
