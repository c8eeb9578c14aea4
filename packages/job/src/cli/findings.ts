import { sanitize } from '@tc/cli';
import type { Finding } from '@tc/engine';

/**
 * How tc-download and tc-seed show the diagnosis (issue 15): one line on the progress display, a line
 * per finding with `-v`, and the findings in `--json` status objects. The texts are the engine's;
 * they are sanitized again here, as everything from the network is before a terminal sees it.
 */

/** Below this download rate (bytes/s) a download with a finding is "stalled". */
export const STALLED_BPS = 1024;

/** The top finding for the progress line: `stalled: …` when nothing arrives, else the finding alone. */
export function findingStatus(findings: readonly Finding[], downRateBps: number): string | undefined {
  const top = findings[0];
  if (top === undefined) return undefined;
  return sanitize(downRateBps < STALLED_BPS ? `stalled: ${top.text}` : top.text);
}

/** `-v`: every finding, with its advice, as the set changes. */
export function findingLines(findings: readonly Finding[]): string[] {
  if (findings.length === 0) return ['why: nothing holds the download back now'];
  return findings.flatMap((f) => [`why: ${sanitize(f.text)}`, `  advice: ${sanitize(f.advice)}`]);
}

/** The findings as `--json` carries them. */
export function findingsJson(findings: readonly Finding[]): object[] {
  return findings.map((f) => ({ code: f.code, text: f.text, facts: f.facts, advice: f.advice }));
}
