import { exitCodeFor } from '@tc/cli';
import type { Metainfo } from '@tc/codec';
import type { SaveStatus } from './save.js';

/** What happened to one item (a URL, a magnet, a catalogue entry, a feed item). */
export type ItemResult =
  | {
      readonly source: string;
      readonly status: SaveStatus;
      readonly path: string;
      readonly infoHash: string;
      readonly name: string;
      readonly size: number;
      readonly exitCode: 0;
    }
  | {
      readonly source: string;
      /** Handed to the --add-to daemon (`present`: the daemon had it already). */
      readonly status: 'added' | 'present';
      /** The daemon's URL. */
      readonly daemon: string;
      readonly infoHash: string;
      readonly name: string;
      readonly size: number;
      readonly exitCode: 0;
    }
  | {
      readonly source: string;
      readonly status: 'failed';
      readonly message: string;
      readonly hint: string | undefined;
      readonly exitCode: number;
      /** Already printed to stderr (by the magnet fetch): not printed again. */
      readonly reported?: boolean;
    };

export function savedResult(source: string, m: Metainfo, saved: { path: string; status: SaveStatus }): ItemResult {
  return { source, status: saved.status, path: saved.path, infoHash: m.infoHashHex, name: m.name, size: m.totalLength, exitCode: 0 };
}

export function addedResult(source: string, m: Metainfo, daemon: string, isNew: boolean): ItemResult {
  return { source, status: isNew ? 'added' : 'present', daemon, infoHash: m.infoHashHex, name: m.name, size: m.totalLength, exitCode: 0 };
}

/** A failure as a result, with its exit code from the shared table. */
export function failedResult(source: string, e: unknown, exitCode: number = exitCodeFor(e)): Extract<ItemResult, { status: 'failed' }> {
  const hint = (e as { hint?: unknown } | null)?.hint;
  return {
    source,
    status: 'failed',
    message: e instanceof Error ? e.message : String(e),
    hint: typeof hint === 'string' ? hint : undefined,
    exitCode,
  };
}
