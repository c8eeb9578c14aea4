import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOutputFolder, ExitCode, exitCodeFor, readInputFile, worstExitCode, writeFileAtomic } from '../src/index.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tc-cli-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readInputFile', () => {
  it('reads a file within the limit', async () => {
    const p = join(dir, 'a.bin');
    await writeFile(p, Buffer.alloc(3000, 7));
    const b = await readInputFile(p, { maxBytes: 3000 });
    expect(b.length).toBe(3000);
    expect(b[2999]).toBe(7);
  });

  it('refuses a file over the limit as bad input, a missing file or a folder as usage', async () => {
    const p = join(dir, 'big.bin');
    await writeFile(p, Buffer.alloc(3001));
    const big = await readInputFile(p, { maxBytes: 3000 }).catch((e: unknown) => e);
    expect(big).toMatchObject({ code: 'CLI_BAD_INPUT' });
    expect(exitCodeFor(big)).toBe(ExitCode.BAD_INPUT);
    const missing = await readInputFile(join(dir, 'nope'), { maxBytes: 10 }).catch((e: unknown) => e);
    expect(exitCodeFor(missing)).toBe(ExitCode.USAGE);
    await mkdir(join(dir, 'sub'));
    const folder = await readInputFile(join(dir, 'sub'), { maxBytes: 10 }).catch((e: unknown) => e);
    expect(exitCodeFor(folder)).toBe(ExitCode.USAGE);
  });
});

describe('writeFileAtomic', () => {
  it('replaces a file and leaves no temp file behind', async () => {
    const p = join(dir, 'out.txt');
    await writeFile(p, 'old');
    await writeFileAtomic(p, Buffer.from('new'));
    expect(await readFile(p, 'utf8')).toBe('new');
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('fails cleanly when the folder does not exist', async () => {
    await expect(writeFileAtomic(join(dir, 'no', 'x'), Buffer.from('x'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('worstExitCode', () => {
  it('is 0 for no failures and the highest code otherwise', () => {
    expect(worstExitCode([])).toBe(0);
    expect(worstExitCode([0, 3, 0, 6, 3])).toBe(6);
  });
});

describe('formatProblem', () => {
  it('names the field once and sanitizes', async () => {
    const { formatProblem, problemJson } = await import('../src/index.js');
    expect(formatProblem({ code: 'X', message: 'unknown key "a\x1b"', field: 'info.a' })).toBe('info.a: unknown key "a\\x1b"');
    expect(formatProblem({ code: 'X', message: 'info.name is missing', field: 'info.name' })).toBe('info.name is missing');
    expect(formatProblem({ code: 'X', message: 'no field', field: '' })).toBe('no field');
    expect(problemJson({ code: 'X', message: 'm', field: 'f', extra: 1 } as never)).toEqual({ code: 'X', message: 'm', field: 'f' });
  });
});

describe('positionals', () => {
  it('returns the strings and checks the count', async () => {
    const { positionals: p, UsageError: U } = await import('../src/index.js');
    expect(p({ _: ['a', 2] }, { command: 'tc-x', what: 'files' })).toEqual(['a', '2']);
    expect(() => p({ _: [] }, { command: 'tc-x', what: 'files' })).toThrow(new U('give at least 1 files', 'run tc-x --help for usage'));
    expect(() => p({ _: ['a', 'b'] }, { command: 'tc-x', what: 'file', min: 1, max: 1 })).toThrow('give exactly 1 file');
  });
});

describe('checkOutputFolder', () => {
  it('accepts a folder, or a path whose nearest existing ancestor is a folder, creating nothing', async () => {
    await checkOutputFolder(dir, '-o');
    await checkOutputFolder(join(dir, 'not', 'yet', 'there'), '-o');
    expect(await readdir(dir)).not.toContain('not');
  });

  it('refuses a regular file as the folder or on the way to it: exit 5, naming the file', async () => {
    const f = join(dir, 'plain-file');
    await writeFile(f, 'x');
    const self = await checkOutputFolder(f, '-o').catch((e: unknown) => e);
    expect(exitCodeFor(self)).toBe(ExitCode.DISK);
    expect((self as Error).message).toBe(`-o ${f}: is a file, not a folder`);
    const under = await checkOutputFolder(join(f, 'a', 'b'), '--data').catch((e: unknown) => e);
    expect(exitCodeFor(under)).toBe(ExitCode.DISK);
    expect((under as Error).message).toBe(`--data ${join(f, 'a', 'b')}: ${f} is a file, not a folder`);
  });
});
