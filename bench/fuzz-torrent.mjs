// The random-peers property of the engine (packages/engine/test/fuzz-peers.test.ts) at scale:
// random message sequences from several peers into a Torrent and into a MetadataFetcher that then
// hands its peers over, on a manual clock over memory storage. CI runs 1,000 sequences per property;
// this runs a million (or --runs N) and prints how deep the runs reached.
//
//   node bench/fuzz-torrent.mjs [--runs 1000000] [--seed N]
//
// A failure prints fast-check's counterexample and seed; replay it with
//   TC_FUZZ_RUNS=1 TC_FUZZ_SEED=<seed> npx vitest run test/fuzz-peers.test.ts   (in packages/engine)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { numberOption } from './common.mjs';

const RUNS = numberOption('runs', 1_000_000);
const SEED = numberOption('seed', undefined);
const env = { ...process.env, TC_FUZZ_RUNS: String(RUNS), ...(SEED !== undefined ? { TC_FUZZ_SEED: String(SEED) } : {}) };

const engine = fileURLToPath(new URL('../packages/engine/', import.meta.url));
console.log(`bench/fuzz-torrent: ${RUNS} sequences per property (a torrent; a magnet fetch handed over to a torrent)`);
const started = Date.now();
const r = spawnSync('npx', ['vitest', 'run', 'test/fuzz-peers.test.ts'], { cwd: engine, env, stdio: 'inherit' });
console.log(`bench/fuzz-torrent: ${r.status === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(r.status ?? 1);
