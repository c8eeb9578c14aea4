import { describe, expect, it } from 'vitest';
import {
  captureIo,
  colourLevel,
  commandParser,
  CommandError,
  ExitCode,
  exitCodeFor,
  formatBytes,
  formatRate,
  formatDuration,
  parseCommand,
  parseSize,
  reportError,
  sanitize,
  UsageError,
  versionText,
  withExamples,
} from '../src/index.js';

describe('sanitize', () => {
  it('makes escape sequences and bidi overrides visible', () => {
    expect(sanitize('a\x1b[31mred\x07\u202egnp.exe')).toBe('a\\x1b[31mred\\x07\\u202egnp.exe');
    expect(sanitize('x\ny')).toBe('x\\x0ay');
    expect(sanitize('x\ny', { multiline: true })).toBe('x\ny');
    expect(sanitize('naïve 日本')).toBe('naïve 日本');
    expect(sanitize('\x9b2J')).toBe('\\x9b2J');
  });
});

describe('exit codes', () => {
  it('maps errors by code to the shared table', () => {
    const withCode = (code: string) => Object.assign(new Error('x'), { code });
    expect(exitCodeFor(new UsageError('x'))).toBe(ExitCode.USAGE);
    expect(exitCodeFor(withCode('CODEC_UNSAFE_PATH'))).toBe(ExitCode.BAD_INPUT);
    expect(exitCodeFor(withCode('TRACKER_TIMEOUT'))).toBe(ExitCode.NETWORK);
    expect(exitCodeFor(withCode('ENOSPC'))).toBe(ExitCode.DISK);
    expect(exitCodeFor(withCode('ECONNREFUSED'))).toBe(ExitCode.NETWORK);
    expect(exitCodeFor(new CommandError('x', ExitCode.VERIFY_FAILED))).toBe(ExitCode.VERIFY_FAILED);
    expect(exitCodeFor(new Error('plain'))).toBe(ExitCode.FAILURE);
  });

  it('reports one sanitized line, a hint, and the causes under verbose', () => {
    const io = captureIo();
    const e = new UsageError('bad \x1b]0;title\x07 value', 'try --help');
    expect(reportError(io, e, { what: 'reading x' })).toBe(2);
    expect(io.err()).toBe('error: reading x: bad \\x1b]0;title\\x07 value\nhint: try --help\n');
    const io2 = captureIo();
    reportError(io2, new Error('outer', { cause: new Error('inner') }), { verbose: true });
    expect(io2.err()).toContain('caused by: inner');
  });
});

describe('colour', () => {
  it('follows --color, NO_COLOR, FORCE_COLOR, TERM=dumb and TTY', () => {
    const tty = { write: () => true, isTTY: true };
    const pipe = { write: () => true, isTTY: false };
    expect(colourLevel('auto', {}, tty)).toBe(1);
    expect(colourLevel('auto', {}, pipe)).toBe(0);
    expect(colourLevel('auto', { NO_COLOR: '1' }, tty)).toBe(0);
    expect(colourLevel('auto', { FORCE_COLOR: '1' }, pipe)).toBe(1);
    expect(colourLevel('auto', { TERM: 'dumb' }, tty)).toBe(0);
    expect(colourLevel('always', { NO_COLOR: '1' }, pipe)).toBe(1);
    expect(colourLevel('never', {}, tty)).toBe(0);
  });
});

describe('formatting', () => {
  it('formats and parses sizes', () => {
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
  });

  it('formats a rate under 1 KiB/s like the others: whole bytes, not a raw float (issue 17)', () => {
    expect(formatRate(560.0590334997933)).toBe('560 B/s');
    expect(formatRate(0.4)).toBe('0 B/s');
    expect(formatRate(1023.7)).toBe('1.00 KiB/s');
    expect(formatBytes(-12.5)).toBe('-13 B');
    expect(formatRate(2048)).toBe('2.00 KiB/s');
    expect(formatDuration(125)).toBe('2m05s');
    expect(parseSize('5M', '--limit')).toBe(5 * 1024 * 1024);
    expect(parseSize('500k', '--limit')).toBe(512000);
    expect(() => parseSize('fast', '--limit')).toThrow(UsageError);
  });
});

describe('commandParser', () => {
  it('turns bad flags into a usage error and shows help on stdout', async () => {
    const io = captureIo();
    await expect(parseCommand(commandParser('tc-x', '$0 FILE'), ['--nope'], io)).rejects.toBeInstanceOf(UsageError);
    const io2 = captureIo();
    expect(await parseCommand(commandParser('tc-x', '$0 FILE'), ['--help'], io2)).toBeUndefined();
    expect(io2.out()).toContain('--json');
    const args = await parseCommand(commandParser('tc-x', '$0 FILE'), ['a', '--json'], captureIo());
    expect(args?.json).toBe(true);
    expect(args?._).toEqual(['a']);
  });

  it("keeps the newlines of yargs' own messages, still escaping what a terminal would obey (issue 17)", async () => {
    const parser = commandParser('tc-x', '$0 FILE').option('mode', { choices: ['a', 'b'] as const });
    const e = await parseCommand(parser, ['--mode', 'c\x1b[2J'], captureIo()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UsageError);
    const io = captureIo();
    expect(reportError(io, e)).toBe(ExitCode.USAGE);
    expect(io.err()).toMatch(/^error: Invalid values:\n {2}Argument: mode/);
    expect(io.err()).not.toContain('\\x0a');
    expect(io.err()).not.toContain('\x1b');
  });

  it('--version prints the version, Node and the commit, on stdout, and exits 0 (issue 17)', async () => {
    const io = captureIo();
    expect(await parseCommand(commandParser('tc-x', '$0 FILE'), ['--version'], io)).toBeUndefined();
    expect(io.out()).toMatch(/^tc-x \d+\.\d+\.\d+ \(node v\d+\.\d+\.\d+, commit ([0-9a-f]{12}|unknown)\)\n$/);
    expect(io.err()).toBe('');
    expect(versionText('tc-y', { TC_BUILD_COMMIT: 'abcdef0123456789' })).toMatch(/^tc-y \S+ \(node v\S+, commit abcdef012345\)$/);
  });

  it('help examples never wrap mid-command: a long one gets its own line, its description above it (issue 17)', async () => {
    const long = '$0 a.torrent --tracker udp://tracker.example:6969/announce --handshake 5';
    const parser = withExamples(commandParser('tc-x', '$0 FILE'), 'tc-x', [
      ['$0 a.torrent', 'short: two columns'],
      [long, 'probe one tracker and dial 5 peers'],
    ]);
    const io = captureIo();
    await parseCommand(parser, ['--help'], io);
    const block = io.out().split('Examples:\n')[1]!.split('\n\n')[0]!;
    expect(block.split('\n').filter((l) => l !== '')).toEqual([
      expect.stringMatching(/^ {2}tc-x a\.torrent +short: two columns$/),
      '  # probe one tracker and dial 5 peers:',
      '  tc-x a.torrent --tracker udp://tracker.example:6969/announce --handshake 5',
    ]);
  });
});
