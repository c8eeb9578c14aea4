import type { ChalkInstance } from 'chalk';
import { sanitize } from '@tc/cli';

export interface EnhanceResult {
  readonly input: string;
  /** Undefined with `--magnet` and no `-o`: nothing was written. */
  readonly output: string | undefined;
  readonly infoHashBefore: string;
  readonly infoHashAfter: string;
  /** The v2 (SHA-256) info-hash of a v2 or hybrid torrent: the info bytes are kept, so it never changes. */
  readonly infoHashV2: string | undefined;
  readonly private: boolean;
  readonly tiers: readonly (readonly string[])[];
  readonly added: readonly string[];
  readonly duplicates: readonly string[];
  readonly magnet: string;
}

const LABEL_WIDTH = 14;

/** Human summary on stdout: both info-hashes (CLI.md), what was added and skipped, where it went. */
export function renderEnhance(r: EnhanceResult, opts: { chalk: ChalkInstance; verbose: boolean }): string {
  const c = opts.chalk;
  const lines: string[] = [];
  const row = (label: string, value: string): void => {
    lines.push(`${c.bold(label.padEnd(LABEL_WIDTH))}${value}`);
  };
  const same = r.infoHashBefore === r.infoHashAfter;
  row('Info-hash', r.infoHashBefore);
  row('New info-hash', `${r.infoHashAfter} ${same ? c.green('(unchanged)') : c.red('(CHANGED)')}`);
  if (r.infoHashV2 !== undefined) row('Info-hash v2', `${r.infoHashV2} ${c.green('(unchanged)')}`);
  row('Added', `${r.added.length} tracker${r.added.length === 1 ? '' : 's'}${r.duplicates.length > 0 ? `, ${r.duplicates.length} already present` : ''}`);
  row('Tiers', String(r.tiers.length));
  if (opts.verbose) {
    r.tiers.forEach((tier, i) => {
      tier.forEach((u, j) => lines.push(`${' '.repeat(LABEL_WIDTH)}${(j === 0 ? `tier ${i + 1}` : '').padEnd(8)}${sanitize(u)}`));
    });
    for (const d of r.duplicates) lines.push(`${' '.repeat(LABEL_WIDTH)}skipped ${sanitize(d)}`);
  }
  row('Wrote', r.output === undefined ? 'nothing' : sanitize(r.output));
  return `${lines.join('\n')}\n`;
}

/** The `--json` shape (schema 1). */
export function enhanceJson(r: EnhanceResult): Record<string, unknown> {
  return {
    input: r.input,
    output: r.output ?? null,
    infoHash: r.infoHashAfter,
    infoHashBefore: r.infoHashBefore,
    infoHashAfter: r.infoHashAfter,
    infoHashUnchanged: r.infoHashBefore === r.infoHashAfter,
    infoHashV2: r.infoHashV2 ?? null,
    private: r.private,
    trackers: r.tiers,
    added: r.added,
    duplicates: r.duplicates,
    magnet: r.magnet,
  };
}
