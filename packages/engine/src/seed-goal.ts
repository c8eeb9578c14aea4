import { EngineError } from './errors.js';

/**
 * When seeding ends (issue 6, `--seed [ratio|time]`): never by itself (until interrupted), at an
 * upload ratio (uploaded / torrent size), or after a time spent seeding.
 */
export type SeedGoal = { readonly kind: 'forever' } | { readonly kind: 'ratio'; readonly ratio: number } | { readonly kind: 'time'; readonly ms: number };

/** Longest seeding time accepted (ms): a year; more is a typo. */
export const MAX_SEED_MS = 366 * 24 * 3600 * 1000;
/** Largest ratio accepted. */
export const MAX_SEED_RATIO = 10_000;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `''` → forever; `2` or `1.5` → ratio; `30m`, `1h`, `90s`, `2d` → time. Anything else: ENGINE_BAD_OPTION. */
export function parseSeedGoal(text: string): SeedGoal {
  const t = text.trim();
  if (t === '') return { kind: 'forever' };
  if (/^\d+(\.\d+)?$/.test(t)) {
    const ratio = Number(t);
    if (!(ratio > 0) || ratio > MAX_SEED_RATIO) throw new EngineError('ENGINE_BAD_OPTION', `seed ratio must be in (0, ${MAX_SEED_RATIO}]: ${t}`);
    return { kind: 'ratio', ratio };
  }
  const m = /^(\d+(?:\.\d+)?)([smhd])$/.exec(t);
  if (m) {
    const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
    if (!(ms > 0) || ms > MAX_SEED_MS) throw new EngineError('ENGINE_BAD_OPTION', `seed time must be more than 0 and at most 366d: ${t}`);
    return { kind: 'time', ms };
  }
  throw new EngineError('ENGINE_BAD_OPTION', `cannot read ${JSON.stringify(t)} as a ratio (e.g. 2) or a time (e.g. 30m, 1h)`);
}

/** True once the goal is met: `uploaded` bytes this session of a `totalBytes` torrent, after `seededMs` of seeding. */
export function seedGoalReached(goal: SeedGoal, uploaded: number, totalBytes: number, seededMs: number): boolean {
  if (goal.kind === 'forever') return false;
  if (goal.kind === 'ratio') return uploaded >= goal.ratio * Math.max(1, totalBytes);
  return seededMs >= goal.ms;
}
