import { FINDING_CODES, type Finding, type FindingCode } from './diagnose.js';

/** A finding is shown once it has held this long (no flicker on a passing state). */
export const FINDING_HOLD_MS = 5_000;
/** A shown finding is cleared once it has not held for this long. */
export const FINDING_CLEAR_MS = 3_000;

interface Entry {
  finding: Finding;
  /** When it started to hold (this time). */
  since: number;
  /** Last time it held. */
  seen: number;
  shown: boolean;
}

/**
 * Keeps findings from flickering: one appears after holding FINDING_HOLD_MS, and goes after not
 * holding for FINDING_CLEAR_MS. Pure: time comes in as an argument. The findings it returns carry
 * `heldS`, how long they have held, among their facts.
 */
export class Diagnoser {
  private readonly entries = new Map<FindingCode, Entry>();
  private shownCodes = '';

  constructor(
    private readonly holdMs = FINDING_HOLD_MS,
    private readonly clearMs = FINDING_CLEAR_MS,
  ) {}

  /** Feeds the findings that hold at `now`; returns the ones to show, most blocking first, and whether that list's codes changed. */
  update(current: readonly Finding[], now: number): { findings: Finding[]; changed: boolean } {
    const holding = new Set<FindingCode>();
    for (const f of current) {
      holding.add(f.code);
      const e = this.entries.get(f.code);
      if (e === undefined) this.entries.set(f.code, { finding: f, since: now, seen: now, shown: this.holdMs <= 0 });
      else {
        // Still within its clear grace after a gap: it keeps its start (it never visibly went away).
        e.finding = f;
        e.seen = now;
      }
    }
    for (const [code, e] of this.entries) {
      if (holding.has(code)) {
        if (!e.shown && now - e.since >= this.holdMs) e.shown = true;
      } else if (!e.shown || now - e.seen >= this.clearMs) this.entries.delete(code);
    }
    const findings = this.shown(now);
    const codes = findings.map((f) => f.code).join(',');
    const changed = codes !== this.shownCodes;
    this.shownCodes = codes;
    return { findings, changed };
  }

  /** The findings shown now (as of the last update). */
  shown(now: number): Finding[] {
    return FINDING_CODES.flatMap((code) => {
      const e = this.entries.get(code);
      if (e === undefined || !e.shown) return [];
      return [{ ...e.finding, facts: { ...e.finding.facts, heldS: Math.max(0, Math.round((now - e.since) / 1000)) } }];
    });
  }

  /** Forgets everything (paused, resumed). */
  reset(): void {
    this.entries.clear();
    this.shownCodes = '';
  }
}
