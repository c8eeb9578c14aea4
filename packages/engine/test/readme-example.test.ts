import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatMagnet, parseMetainfo } from '@tc/codec';
import { ensureBuilt } from '@tc/testkit/fresh-build';
import { runBin } from '@tc/testkit/run-bin';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceFromMetainfo, type Session } from '../src/session.js';
import { expectSameFiles, filledStorage, loopbackSession, range } from './helpers.js';

const ENGINE_DIR = resolve(import.meta.dirname, '..');
/** The README's example: the ```js block after this marker. */
const MARKER = '<!-- example: magnet';

/** The example's code, exactly as the README shows it. */
async function readmeExample(): Promise<string> {
  const readme = await readFile(join(ENGINE_DIR, 'README.md'), 'utf8');
  const at = readme.indexOf(MARKER);
  expect(at, 'README.md has the example marker').toBeGreaterThanOrEqual(0);
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(m, 'a ```js block follows the marker').not.toBeNull();
  return m![1]!;
}

let seeder: Session | undefined;
let work: Awaited<ReturnType<typeof tempDir>> | undefined;

beforeAll(() => {
  // The example imports the built package, as a user would.
  ensureBuilt(ENGINE_DIR, 'index.js');
});

afterAll(async () => {
  await seeder?.close();
  await work?.cleanup();
});

describe("the engine README's magnet example", () => {
  it('is under ten lines and downloads a torrent from a tc seeder on loopback (the link names it with x.pe)', async () => {
    const code = await readmeExample();
    expect(code.trimEnd().split('\n').length).toBeLessThan(10);

    const t = createTestTorrent({
      name: 'readme-example',
      pieceLength: 32 * 1024,
      seed: 21,
      files: [
        { path: ['notes.txt'], length: 5_000 },
        { path: ['data', 'big.bin'], length: 300_000 },
      ],
    });
    const metainfo = parseMetainfo(t.torrent).metainfo;
    const src = sourceFromMetainfo(metainfo);
    // The same transports and encryption as the example's defaults (uTP first, MSE preferred).
    seeder = await loopbackSession({ transport: 'both', encryption: 'prefer' });
    await seeder.add(metainfo, { storage: filledStorage(t, src), have: range(src.layout.pieceCount), noTrackers: true });
    const link = formatMagnet({ infoHash: metainfo.infoHash, name: 'readme-example', peers: [{ host: '127.0.0.1', port: seeder.port }] });

    work = await tempDir('tc-readme-');
    await writeFile(join(work.path, 'get.mjs'), code);
    // `@tc/engine` for the example is the built package, with one change: its sessions listen on
    // 127.0.0.1 only (tests stay on loopback). The example's code itself runs unchanged.
    const pkg = join(work.path, 'node_modules', '@tc', 'engine');
    await mkdir(pkg, { recursive: true });
    const real = pathToFileURL(join(ENGINE_DIR, 'dist', 'index.js')).href;
    await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: '@tc/engine', type: 'module', exports: './index.js' }));
    await writeFile(
      join(pkg, 'index.js'),
      [
        `import { Session as Real } from ${JSON.stringify(real)};`,
        `export * from ${JSON.stringify(real)};`,
        `export class Session extends Real {`,
        `  static create(opts = {}) { return Real.create({ listenHost4: '127.0.0.1', listenHost6: null, ...opts }); }`,
        `}`,
      ].join('\n'),
    );

    const r = await runBin(join(work.path, 'get.mjs'), [link], { cwd: work.path, timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^100\.0% from \d+ peers$/);
    await expectSameFiles(t, join(work.path, 'downloads'));
  }, 90_000);
});
