import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@tc/testkit/tmp';
import type { ResumeExpect } from './format.js';
import { readResume, resumePath } from './store.js';

/**
 * Resume by force: a child process saves resume data in a tight loop and is SIGKILLed at a random
 * moment, again and again. Every time, what is on disk must load as a whole, valid resume file
 * (the old one or a newer one), never a torn one.
 *
 * The child runs this package's own store code: errors.ts, storage/durable.ts, resume/format.ts and resume/store.ts are
 * transpiled to JS in a temp folder whose node_modules points at this package's.
 */

const CYCLES = 25;
const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, '..');

const infoHash = Buffer.alloc(20, 0x5c);
const expectT: ResumeExpect = {
  infoHash,
  pieceLength: 16,
  pieceCount: 4,
  totalLength: 64,
  files: [{ offset: 0, length: 64 }],
};

const CHILD = `
import { stampFiles, ResumeStore } from './resume/store.js';
const [, , path, dataFile, startText] = process.argv;
const store = new ResumeStore(path);
const files = await stampFiles([dataFile]);
let n = Number(startText);
for (let first = true; ; first = false) {
  n++;
  const have = Buffer.from([(0xf0 << (n % 4)) & 0xf0]);
  await store.save({
    infoHash: Buffer.alloc(20, 0x5c), pieceLength: 16, pieceCount: 4, have, files,
    uploaded: n, downloaded: n * 2, selection: undefined, savedAt: Date.now(),
  });
  // After the first save landed: the kill then always comes while newer saves are in progress.
  if (first) process.stdout.write('saved\\n');
}
`;

describe('resume file under SIGKILL', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    ({ path: dir, cleanup } = await tempDir('tc-resume-kill-'));
    const out = join(dir, 'code');
    for (const rel of ['errors.ts', 'storage/durable.ts', 'resume/format.ts', 'resume/store.ts']) {
      const js = ts.transpileModule(await readFile(join(src, rel), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      }).outputText;
      await mkdir(dirname(join(out, rel)), { recursive: true });
      await writeFile(join(out, rel.replace(/\.ts$/, '.js')), js);
    }
    await writeFile(join(out, 'package.json'), '{"type":"module"}');
    await writeFile(join(out, 'child.js'), CHILD);
    await symlink(join(src, '..', 'node_modules'), join(out, 'node_modules'));
    await mkdir(join(dir, 'dl'));
    await writeFile(join(dir, 'dl', 'data'), Buffer.alloc(64, 7));
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await cleanup();
  });

  it(`${CYCLES} cycles of start → SIGKILL at a random moment → load: never torn, never going back`, async () => {
    const path = resumePath(join(dir, 'dl'), 'data');
    const dataFile = join(dir, 'dl', 'data');
    let last = 0;
    let advanced = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const child = spawn(process.execPath, [join(dir, 'code', 'child.js'), path, dataFile, String(last)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`child exited ${code}: ${stderr}`)));
      });
      // Somewhere in the middle of a write, an fsync or a rename: 0–40 ms after the first save of
      // this run landed (counting from the spawn instead made slow, loaded machines kill the child
      // before it saved anything, which tests nothing).
      await new Promise((r) => setTimeout(r, Math.random() * 40));
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      children.delete(child);

      const r = await readResume(path, expectT, [dataFile]);
      // A save landed before every kill, so the file is always there and whole.
      expect(r.ok, `cycle ${cycle}: ${r.ok ? '' : r.message}`).toBe(true);
      if (!r.ok) continue;
      expect(r.resume.downloaded).toBe(r.resume.uploaded * 2);
      // Never going back: this run's first save (last + 1) at least.
      expect(r.resume.uploaded, `cycle ${cycle}`).toBeGreaterThan(last);
      if (r.resume.uploaded > last + 1) advanced++;
      last = r.resume.uploaded;
    }
    // How many kills came after further saves, i.e. while the loop was rewriting a good file.
    console.log(`resume kill loop: ${CYCLES} kills, ${advanced} after more than one save of the run`);
  }, 120_000);
});
