import { USER_AGENT } from '@tc/wire';
import { join } from 'node:path';
import { ExitCode, fetchWeb, isPublicAddress, reportWarning, sanitize, worstExitCode, type Io } from '@tc/cli';
import type { Session } from '@tc/engine';
import type { FetchArgs } from './args.js';
import { MAX_FEED_BYTES, parseFeed } from './feed.js';
import { FeedState, stateDir } from './feed-state.js';
import { printResult } from './render.js';
import { failedResult } from './result.js';
import { fetchItem } from './item.js';

/** Longest wait between polls after failures (the backoff doubles --every up to this). */
export const MAX_BACKOFF_S = 6 * 3600;

/** Seconds until the next poll: --every, doubled for each failure in a row (politeness to a failing server), capped at MAX_BACKOFF_S. */
export function nextDelayS(everyS: number, failures: number): number {
  if (failures <= 0) return everyS;
  return Math.max(everyS, Math.min(everyS * 2 ** Math.min(failures, 20), MAX_BACKOFF_S));
}

/**
 * `--feed URL`: polls the feed (once with --once, else every --every with backoff when it fails),
 * fetching each new item that matches; what was fetched is remembered in the state folder so it is
 * never fetched twice. A refused or hostile item is remembered too; a network failure is retried
 * at the next poll. Returns the exit code (the worst of the last poll with --once; 130 on a signal).
 */
export async function runFeed(args: FetchArgs, io: Io, session: () => Promise<Session>): Promise<number> {
  const feed = args.feed!;
  const statePath = join(stateDir(io.env), 'fetch-feeds.json');
  const say = (line: string): void => {
    if (!args.quiet) io.stderr.write(`${line}\n`);
  };
  let failures = 0;
  for (;;) {
    const state = await FeedState.load(statePath, feed, (m) => reportWarning(io, m));
    const { code, feedFailed } = await pollOnce(feed, args, io, session, state, say);
    if (args.once || io.signal?.aborted) return io.signal?.aborted ? ExitCode.INTERRUPTED : code;
    failures = feedFailed ? failures + 1 : 0;
    const delayS = nextDelayS(args.everyS, failures);
    say(`next poll in ${formatDelay(delayS)}${failures > 0 ? ` (the feed failed ${failures} time${failures === 1 ? '' : 's'} in a row)` : ''}`);
    if (!(await sleep(delayS * 1000, io.signal))) return ExitCode.INTERRUPTED;
  }
}

async function pollOnce(
  feed: string,
  args: FetchArgs,
  io: Io,
  session: () => Promise<Session>,
  state: FeedState,
  say: (line: string) => void,
): Promise<{ code: number; feedFailed: boolean }> {
  let parsed;
  try {
    const res = await fetchWeb(feed, {
      maxBytes: MAX_FEED_BYTES,
      timeoutMs: args.timeoutMs,
      signal: io.signal,
      expect: 'feed',
      userAgent: USER_AGENT,
      accept: 'application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5',
    });
    parsed = parseFeed(res.body.toString('utf8'), res.url);
  } catch (e) {
    const r = failedResult(feed, e);
    printResult(io, r, args.json);
    return { code: r.exitCode, feedFailed: true };
  }
  const matching = parsed.items.filter((i) => args.match === undefined || args.match.test(i.title));
  const fresh = matching.filter((i) => !state.has(i.id));
  say(
    `feed ${sanitize(parsed.title || feed)}: ${parsed.items.length} torrent item${parsed.items.length === 1 ? '' : 's'}` +
      `${args.match ? `, ${matching.length} matching` : ''}, ${fresh.length} new`,
  );
  const codes: number[] = [];
  for (const item of fresh) {
    if (io.signal?.aborted) break;
    const r = await fetchItem(item.link, args, io, session, { allowAddress: args.allowPrivate ? undefined : isPublicAddress });
    printResult(io, r, args.json);
    codes.push(r.exitCode);
    // Retried next time only when the network failed; a bad or hostile torrent stays bad.
    if (r.exitCode === 0 || r.exitCode === ExitCode.BAD_INPUT || r.exitCode === ExitCode.VERIFY_FAILED) {
      state.add(item.id);
      await state.save();
    }
  }
  return { code: worstExitCode(codes), feedFailed: false };
}

function formatDelay(s: number): string {
  return s >= 3600 && s % 3600 === 0 ? `${s / 3600} h` : s >= 60 && s % 60 === 0 ? `${s / 60} min` : `${Math.round(s)} s`;
}

/** Waits `ms`; false when the signal fired first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
