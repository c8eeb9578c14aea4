import { execFile } from 'node:child_process';
import { mkdir, readdir, realpath, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureBuilt } from '@tc/testkit/fresh-build';
import { tempDir } from '@tc/testkit/tmp';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..', '..');
/**
 * The library packages installed from their tarballs: everything the engine needs, plus create.
 * Their only outside dependency is undici (tracker's HTTP client, no dependencies of its own), packed
 * from the installed copy, so the install needs no registry. job, cli and daemon also need yargs,
 * chalk and cli-progress with their trees: their metadata is checked, not an offline install.
 */
const LIBRARIES = ['clock', 'codec', 'wire', 'utp', 'dht', 'tracker', 'create', 'engine'];
/** An export each package must have after installing (a value, so that an import of the wrong file fails). */
const EXPECTED: Record<string, string> = {
  clock: 'ManualClock',
  codec: 'parseMagnet',
  wire: 'encodeHandshake',
  utp: 'decodePacket',
  dht: 'DhtNode',
  tracker: 'TrackerClient',
  create: 'createTorrent',
  engine: 'Session',
};

const temps: { cleanup: () => Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(temps.splice(0).map((t) => t.cleanup()));
});

describe('publishable packages', () => {
  it("every package's version, license, repository, engines and files come from the root (scripts/package-meta.mjs --check)", async () => {
    const r = await run(process.execPath, [join(ROOT, 'scripts', 'package-meta.mjs'), '--check']).catch((e: { stderr?: string; code?: number }) => e);
    expect('stderr' in r ? r.stderr : '').toBe('');
  });

  it('the library packages pack, install offline into a clean folder from the tarballs alone, and import', async () => {
    for (const name of LIBRARIES) ensureBuilt(join(ROOT, 'packages', name), 'index.js');
    const work = await tempDir('tc-pack-');
    temps.push(work);
    const out = join(work.path, 'tarballs');
    const pnpm = join(ROOT, 'node_modules', '.bin', 'pnpm');
    // pnpm pack turns `workspace:*` into the version, as publishing would.
    for (const name of LIBRARIES) await run(pnpm, ['pack', '--pack-destination', out], { cwd: join(ROOT, 'packages', name) });
    const npm = { env: { ...process.env, npm_config_cache: join(work.path, 'npm-cache'), npm_config_update_notifier: 'false' } };
    const undici = await realpath(join(ROOT, 'packages', 'tracker', 'node_modules', 'undici'));
    await run('npm', ['pack', undici, '--pack-destination', out, '--ignore-scripts'], { cwd: work.path, ...npm });
    const tarballs = (await readdir(out)).map((f) => join(out, f));
    expect(tarballs).toHaveLength(LIBRARIES.length + 1);

    const app = join(work.path, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'pack-check', private: true, type: 'module' }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs], { cwd: app, ...npm });
    const checks = LIBRARIES.map((n) => `if (typeof (await import('@tc/${n}')).${EXPECTED[n]} !== 'function') throw new Error('@tc/${n}: no ${EXPECTED[n]}');`);
    await writeFile(
      join(app, 'check.mjs'),
      [
        ...checks,
        // The engine works from its tarball: a session that does not listen opens and closes.
        `const { Session } = await import('@tc/engine');`,
        `const s = await Session.create({ listen: false });`,
        `const h = s.add('magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567', { noTrackers: true });`,
        `await s.close();`,
        `await h.ready.catch((e) => console.log(e.code));`,
      ].join('\n'),
    );
    const r = await run(process.execPath, ['check.mjs'], { cwd: app });
    expect(r.stdout.trim()).toBe('ENGINE_CLOSED');
  }, 180_000);
});
