import { CODEC_ERROR_CODES, CodecError } from '@tc/codec';
import { ENGINE_ERROR_CODES, EngineError, SELECTION_ERROR_CODES, SelectionError } from '@tc/engine';
import { TRACKER_ERROR_CODES, TrackerError } from '@tc/tracker';
import { WIRE_ERROR_CODES, WireError } from '@tc/wire';
import { describe, expect, it } from 'vitest';
import { CLI_ERROR_CODES, CliError, ExitCode, exitCodeFor } from '../src/index.js';

/**
 * Every error code of every package, made as that package makes it, against the exit code CLI.md
 * intends for it: each package's usual meaning, and the few codes that mean something else.
 */
const packages: { name: string; codes: readonly string[]; make: (code: string) => Error; usual: ExitCode; except: Readonly<Record<string, ExitCode>> }[] = [
  {
    name: 'codec',
    codes: CODEC_ERROR_CODES,
    make: (c) => new CodecError(c as never, 'x'),
    usual: ExitCode.BAD_INPUT,
    // createTorrent/verifyData's disk; a value tc itself could not encode is tc's bug.
    except: { CODEC_IO: ExitCode.DISK, CODEC_UNENCODABLE: ExitCode.FAILURE },
  },
  {
    name: 'wire',
    codes: WIRE_ERROR_CODES,
    make: (c) => new WireError(c as never, 'x'),
    usual: ExitCode.NETWORK,
    except: { WIRE_BAD_ARGUMENT: ExitCode.FAILURE },
  },
  {
    name: 'tracker',
    codes: TRACKER_ERROR_CODES,
    make: (c) => new TrackerError(c as never, 'x'),
    usual: ExitCode.NETWORK,
    except: { TRACKER_BAD_URL: ExitCode.BAD_INPUT, TRACKER_ABORTED: ExitCode.INTERRUPTED },
  },
  {
    name: 'engine',
    codes: ENGINE_ERROR_CODES,
    make: (c) => new EngineError(c as never, 'x'),
    usual: ExitCode.NETWORK,
    except: {
      ENGINE_BAD_TORRENT: ExitCode.BAD_INPUT,
      ENGINE_UNSAFE_PATH: ExitCode.BAD_INPUT,
      ENGINE_DISK: ExitCode.DISK,
      ENGINE_HASH_MISMATCH: ExitCode.VERIFY_FAILED,
      ENGINE_CLOSED: ExitCode.FAILURE,
      ENGINE_DUPLICATE_TORRENT: ExitCode.FAILURE,
      ENGINE_PEER_INTERNAL: ExitCode.FAILURE,
      ENGINE_ABORTED: ExitCode.INTERRUPTED,
      ENGINE_BAD_OPTION: ExitCode.USAGE,
    },
  },
  { name: 'engine selection', codes: SELECTION_ERROR_CODES, make: (c) => new SelectionError(c as never, 'x', 'x'), usual: ExitCode.USAGE, except: {} },
  {
    name: 'cli',
    codes: CLI_ERROR_CODES,
    make: (c) => new CliError(c as never, 'x'),
    usual: ExitCode.USAGE,
    except: {
      CLI_BAD_INPUT: ExitCode.BAD_INPUT,
      CLI_FETCH_FAILED: ExitCode.NETWORK,
      CLI_FILE_UNREADABLE: ExitCode.DISK,
      CLI_INTERRUPTED: ExitCode.INTERRUPTED,
    },
  },
];

describe('the exit-code table', () => {
  it.each(packages.map((p) => [p.name, p] as const))('maps every %s code to its intended exit code', (_, p) => {
    expect(p.codes.length).toBeGreaterThan(0);
    for (const [code] of Object.entries(p.except)) expect(p.codes, `${code} is an exception but not a ${p.name} code`).toContain(code);
    const got = Object.fromEntries(p.codes.map((c) => [c, exitCodeFor(p.make(c))]));
    const want = Object.fromEntries(p.codes.map((c) => [c, p.except[c] ?? p.usual]));
    expect(got).toEqual(want);
  });

  it('has each code defined by one package only', () => {
    const all = packages.flatMap((p) => p.codes);
    expect(new Set(all).size).toBe(all.length);
  });

  it('keeps no rule for prefixes nothing emits, and maps foreign codes by their kind', () => {
    const withCode = (code: string) => Object.assign(new Error('x'), { code });
    for (const ghost of ['STORAGE_FULL', 'VERIFY_FAILED', 'ENGINE_NETWORK', 'CODEC_SOMETHING_NEW']) expect(exitCodeFor(withCode(ghost))).toBe(ExitCode.FAILURE);
    expect(exitCodeFor(withCode('ENOSPC'))).toBe(ExitCode.DISK);
    expect(exitCodeFor(withCode('ECONNRESET'))).toBe(ExitCode.NETWORK);
    expect(exitCodeFor(withCode('UND_ERR_SOCKET'))).toBe(ExitCode.NETWORK);
    expect(exitCodeFor(withCode('ABORT_ERR'))).toBe(ExitCode.INTERRUPTED);
    expect(exitCodeFor(new Error('no code'))).toBe(ExitCode.FAILURE);
  });
});
