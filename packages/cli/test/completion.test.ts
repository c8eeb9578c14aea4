import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureIo, commandParser, parseCommand } from '../src/index.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tc-completion-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const parser = () =>
  commandParser('tc-x', '$0 FILE')
    .option('output', { alias: 'o', type: 'string', describe: 'download folder [default: here]' })
    .option('progress', { choices: ['auto', 'bar', 'plain', 'none'] as const, default: 'auto', describe: "progress: it's on stderr" })
    .option('max-peers', { type: 'number', describe: 'most peers' })
    .option('secret', { type: 'string', hidden: true });

async function script(shell: string): Promise<string> {
  const io = captureIo();
  expect(await parseCommand(parser(), ['--completion', shell], io)).toBeUndefined();
  expect(io.err()).toBe('');
  return io.out();
}

/** What bash completes for the words typed so far (the last one being completed). */
function bashComplete(file: string, words: string[]): string[] {
  const arr = words.map((w) => `'${w}'`).join(' ');
  const out = execFileSync('bash', ['-c', `source '${file}'; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _tc_x; printf '%s\\n' "\${COMPREPLY[@]}"`], {
    cwd: dir,
    encoding: 'utf8',
  });
  return out.split('\n').filter((l) => l !== '');
}

describe('--completion bash|zsh|fish (issue 17)', () => {
  it('bash: completes flags, the values of a flag with choices, and files', async () => {
    const file = join(dir, 'tc-x.bash');
    await writeFile(file, await script('bash'));
    await writeFile(join(dir, 'some.torrent'), '');
    expect(bashComplete(file, ['tc-x', '--pro'])).toEqual(['--progress']);
    expect(bashComplete(file, ['tc-x', '--progress', 'p'])).toEqual(['plain']);
    expect(bashComplete(file, ['tc-x', '--max'])).toEqual(['--max-peers']);
    expect(bashComplete(file, ['tc-x', '-o', 'so'])).toEqual(['some.torrent']);
    expect(bashComplete(file, ['tc-x', 'so'])).toEqual(['some.torrent']);
    expect(bashComplete(file, ['tc-x', '--sec'])).toEqual([]);
    expect(bashComplete(file, ['tc-x', '--comp'])).toEqual(['--completion']);
  }, 120_000); // seven bash processes: slow only on a loaded machine

  it('zsh: one _arguments spec per flag, descriptions escaped', async () => {
    const s = await script('zsh');
    expect(s.startsWith('#compdef tc-x\n')).toBe(true);
    expect(s).toContain(`  '(--output -o)'{--output,-o}'[download folder \\[default\\: here\\]]:output:_files' \\\n`);
    expect(s).toContain(`  '--progress[progress\\: it'\\''s on stderr]:progress:(auto bar plain none)' \\\n`);
    expect(s).toContain(`  '--json[machine-readable output on stdout]' \\\n`);
    expect(s).not.toContain('secret');
  });

  it('fish: one complete line per flag', async () => {
    const s = await script('fish');
    expect(s).toContain("complete -c tc-x -l output -s o -r -d 'download folder [default: here]'\n");
    expect(s).toContain("complete -c tc-x -l progress -x -a 'auto bar plain none' -d 'progress: it'\\''s on stderr'\n");
    expect(s).toContain("complete -c tc-x -l json -d 'machine-readable output on stdout'\n");
    expect(s).not.toContain('secret');
  });

  it('an unknown shell is a usage error', async () => {
    await expect(parseCommand(parser(), ['--completion', 'tcsh'], captureIo())).rejects.toMatchObject({ code: 'USAGE' });
  });
});
