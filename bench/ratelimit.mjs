// The rate limiter (--limit-up / --limit-down) on the real clock: three peers pull 16 KiB blocks
// through one RateLimiter as fast as it lets them, for a few seconds per rate; the achieved rate,
// after the free first burst, beside the configured one. The manual-clock tests check the pacing
// logic exactly; this is the wall-clock half (a busy event loop fires timers late), moved out of
// the tests because load on the machine moves it.
//
//   node bench/ratelimit.mjs [--seconds 3] [--json]
//
// Needs a built @tc/engine (npm run setup).
import { RateLimiter, defaultBurst, systemClock } from '@tc/engine';
import { flag, numberOption } from './common.mjs';

const SECONDS = numberOption('seconds', 3);
const JSON_OUT = flag('json');
const BLOCK = 16 * 1024;
const PEERS = 3;
const RATES = [256 * 1024, 1_000_000, 8_000_000];

async function measure(rateBps) {
  const l = new RateLimiter({ rateBps, clock: systemClock });
  const t0 = performance.now();
  const windowMs = SECONDS * 1000;
  let got = 0;
  let stop = false;
  const loops = Array.from({ length: PEERS }, async (_, p) => {
    while (!stop) {
      try {
        await l.acquire(BLOCK, p);
      } catch {
        return;
      }
      if (performance.now() - t0 <= windowMs) got += BLOCK;
    }
  });
  await new Promise((r) => setTimeout(r, windowMs));
  stop = true;
  l.close();
  await Promise.all(loops);
  // The first burst is free by design; the rest must follow the rate.
  const achieved = (got - defaultBurst(rateBps)) / SECONDS;
  return { rateBps, achievedBps: Math.round(achieved), offPercent: Number(((100 * (achieved - rateBps)) / rateBps).toFixed(1)) };
}

const rows = [];
for (const r of RATES) rows.push(await measure(r));
if (JSON_OUT) {
  console.log(JSON.stringify({ seconds: SECONDS, peers: PEERS, node: process.version, rows }));
} else {
  console.log(`rate limiter on the real clock: ${PEERS} peers, ${SECONDS} s per rate, ${process.version}`);
  console.log('   limit B/s  achieved B/s   off %');
  for (const x of rows) console.log(`${String(x.rateBps).padStart(12)} ${String(x.achievedBps).padStart(13)} ${x.offPercent.toFixed(1).padStart(7)}`);
}
