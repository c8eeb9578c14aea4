// Time of tc's glob matcher (--select patterns, packages/engine/src/selection/glob.ts) on patterns
// that make backtracking matchers explode, beside the same glob as a backtracking RegExp. This is
// the wall-clock half of the selection test "does not blow up on patterns that make backtracking
// regexes explode", which now checks only the answer.
//
//   node bench/glob.mjs [--max 16384] [--json]
//
// Needs a built @tc/engine (npm run setup).
import { globMatch, parseGlob } from '../packages/engine/dist/selection/glob.js';
import { flag, numberOption } from './common.mjs';

const MAX = numberOption('max', 16_384);
const JSON_OUT = flag('json');
/** A backtracking step slower than this stops the RegExp column (the next size would take far longer). */
const REGEX_CAP_MS = 2_000;
const regexMs = new Map();

const pattern = '*a*a*a*a*a*a*a*a*a*a*b';
const glob = parseGlob(pattern);
if (typeof glob === 'string') throw new Error(glob);
// The same glob as a RegExp, as a naive matcher would build it: `*` is any run of non-slash characters.
const regex = new RegExp(`^${pattern.replace(/\*/g, '[^/]*')}$`);

function time(fn) {
  const t0 = performance.now();
  const r = fn();
  return { ms: performance.now() - t0, r };
}

// tc: sizes ×4 up to --max. RegExp: sizes +4 (its time grows about as n^10 here), until one step
// takes longer than REGEX_CAP_MS; tc is timed on those sizes too.
const sizes = new Set();
for (let n = 12; ; n += 4) {
  const text = 'a'.repeat(n);
  const rx = time(() => regex.test(text));
  if (rx.r !== false) throw new Error('the RegExp matched a text without a b');
  sizes.add(n);
  regexMs.set(n, rx.ms);
  if (rx.ms > REGEX_CAP_MS) break;
}
for (let n = 64; n <= MAX; n *= 4) sizes.add(n);
const rows = [...sizes]
  .sort((a, b) => a - b)
  .map((n) => {
    const tc = time(() => globMatch(glob, 'a'.repeat(n)));
    if (tc.r !== false) throw new Error('tc matched a text without a b');
    const rx = regexMs.get(n);
    return { n, tcMs: Number(tc.ms.toFixed(3)), regexMs: rx === undefined ? null : Number(rx.toFixed(3)) };
  });

if (JSON_OUT) {
  console.log(JSON.stringify({ pattern, node: process.version, rows }));
} else {
  console.log(`glob ${JSON.stringify(pattern)} against 'a' × n (no match), ${process.version}`);
  console.log('       n     tc ms   RegExp ms');
  for (const r of rows)
    console.log(`${String(r.n).padStart(8)} ${r.tcMs.toFixed(3).padStart(9)} ${r.regexMs === null ? '  (not run)' : r.regexMs.toFixed(3).padStart(11)}`);
}
