import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureIo, commandParser, parseCommand, parseToml, UsageError } from '../src/index.js';

let home = '';
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'tc-config-'));
  await mkdir(join(home, 'cfg', 'tc'), { recursive: true });
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

const parser = () =>
  commandParser('tc-x', '$0 FILE')
    .option('max-peers', { type: 'number', default: 50 })
    .option('progress', { choices: ['auto', 'plain', 'none'] as const, default: 'auto' })
    .option('peer', { type: 'string', array: true, default: [] as string[] })
    .option('quiet', { alias: 'q', type: 'boolean', default: false })
    .option('log', { type: 'string' })
    .option('port', { type: 'number' });

async function withConfig(text: string, name = 'config.toml'): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(home, 'x-'));
  await writeFile(join(dir, name), text);
  return { TC_CONFIG: join(dir, name), TC_DEBUG: '1', TC_BUILD_COMMIT: 'abc' };
}

describe('parseToml: the subset a config file needs', () => {
  it('reads sections, strings, numbers, booleans and one-line arrays, with comments', () => {
    expect(
      parseToml(
        '# tc\n[tc-download]\nmax-peers = 80 # more\nprogress = "plain"\npeer = ["10.0.0.2:6881", \'[::1]:6881\']\nquiet = true\n\n[tc-seed]\nseed = "2"\n',
      ),
    ).toEqual({ 'tc-download': { 'max-peers': 80, progress: 'plain', peer: ['10.0.0.2:6881', '[::1]:6881'], quiet: true }, 'tc-seed': { seed: '2' } });
  });

  it('refuses what it does not read, with the line', () => {
    expect(() => parseToml('[a]\nx = \n')).toThrow(/^line 2: expected a string/);
    expect(() => parseToml('[a]\nx = [1,\n2]\n')).toThrow(/^line 2: unterminated array/);
    expect(() => parseToml('[a]\nx = 1\nx = 2\n')).toThrow(/^line 3: key x appears twice/);
    expect(() => parseToml('what\n')).toThrow(/^line 1: expected `key = value`/);
    expect(() => parseToml('[a]\nx = "unterminated\n')).toThrow(/^line 2: unterminated string/);
  });
});

describe('config: flag > TC_* variable > config file > default (issue 17)', () => {
  it('takes each option from the file, then the environment, then the command line', async () => {
    const env = await withConfig('[tc-x]\nmax-peers = 80\nprogress = "plain"\npeer = ["a:1"]\n\n[tc-other]\nmax-peers = 1\n');
    const fromFile = await parseCommand(parser(), ['f'], captureIo({ env }));
    expect(fromFile).toMatchObject({ maxPeers: 80, progress: 'plain', peer: ['a:1'], quiet: false });
    const fromEnv = await parseCommand(parser(), ['f'], captureIo({ env: { ...env, TC_MAX_PEERS: '90', TC_QUIET: 'yes', TC_PEER: 'b:2, c:3' } }));
    expect(fromEnv).toMatchObject({ maxPeers: 90, progress: 'plain', peer: ['b:2', 'c:3'], quiet: true });
    const fromFlag = await parseCommand(parser(), ['f', '--max-peers', '7', '--no-quiet'], captureIo({ env: { ...env, TC_MAX_PEERS: '90', TC_QUIET: '1' } }));
    expect(fromFlag).toMatchObject({ maxPeers: 7, quiet: false });
  });

  it('TC_PORT: left to listenPort for a port without a default (tc-download), applied like any other to one with a default', async () => {
    expect((await parseCommand(parser(), ['f'], captureIo({ env: { TC_PORT: '7000' } })))?.port).toBeUndefined();
    const daemonLike = commandParser('tc-y', '$0').option('port', { type: 'number', default: 51413 });
    expect((await parseCommand(daemonLike, [], captureIo({ env: { TC_PORT: '7000' } })))?.port).toBe(7000);
  });

  it('reads $XDG_CONFIG_HOME/tc/config.json too', async () => {
    await writeFile(join(home, 'cfg', 'tc', 'config.json'), JSON.stringify({ 'tc-x': { 'max-peers': 33 } }));
    expect(await parseCommand(parser(), ['f'], captureIo({ env: { XDG_CONFIG_HOME: join(home, 'cfg') } }))).toMatchObject({ maxPeers: 33 });
  });

  it('a bad value or an unknown key is a usage error naming where it came from', async () => {
    const bad = async (env: Record<string, string>): Promise<unknown> => parseCommand(parser(), ['f'], captureIo({ env })).catch((e: unknown) => e);
    expect(await bad({ TC_MAX_PEERS: 'many' })).toMatchObject({ code: 'USAGE', message: 'TC_MAX_PEERS: "many" is not a number' });
    expect(await bad({ TC_PROGRESS: 'bar' })).toMatchObject({ message: 'TC_PROGRESS: "bar" is not one of auto, plain, none' });
    const typo = await withConfig('[tc-x]\nmax-peer = 3\n');
    expect(await bad(typo)).toMatchObject({ message: `config ${typo.TC_CONFIG}: [tc-x] has no option "max-peer"` });
    const wrongType = await withConfig('[tc-x]\nquiet = "yes"\n');
    expect(await bad(wrongType)).toMatchObject({ message: `config ${wrongType.TC_CONFIG}: [tc-x] quiet: "yes" is not true or false` });
    const syntax = await withConfig('[tc-x]\nmax-peers = = 3\n');
    expect(await bad(syntax)).toMatchObject({ message: `config ${syntax.TC_CONFIG}: line 2: expected a string ("…"), a number, true, false or an array` });
    expect(await bad({ TC_CONFIG: join(home, 'nope.toml') })).toBeInstanceOf(UsageError);
  });

  it('--print-config shows each value and its source, in text and JSON', async () => {
    const env: Record<string, string> = { ...(await withConfig('[tc-x]\nmax-peers = 80\n')), TC_PROGRESS: 'none', TC_PORT: '' };
    const io = captureIo({ env });
    expect(await parseCommand(parser(), ['--print-config', '-q'], io)).toBeUndefined();
    const out = io.out();
    expect(out).toContain(`config file: ${env.TC_CONFIG}\n`);
    expect(out).toMatch(/^--max-peers +80 +file$/m);
    expect(out).toMatch(/^--progress +"none" +env \(TC_PROGRESS\)$/m);
    expect(out).toMatch(/^--quiet +true +flag$/m);
    expect(out).toMatch(/^--peer +\[\] +default$/m);
    expect(out).toMatch(/^--log +\(unset\) +default$/m);
    expect(out).toMatch(/^--port +6881 +default$/m);
    const j = captureIo({ env });
    await parseCommand(parser(), ['--print-config', '--json'], j);
    const doc = JSON.parse(j.out()) as { schema: number; configFile: string; options: { option: string; value: unknown; source: string }[] };
    expect(doc.schema).toBe(1);
    expect(doc.options.find((o) => o.option === '--max-peers')).toEqual({ option: '--max-peers', value: 80, source: 'file', env: 'TC_MAX_PEERS' });
  });
});
