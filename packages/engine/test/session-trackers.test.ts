import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { Server } from 'bittorrent-tracker';
import { describe, expect, it } from 'vitest';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { startBtTracker } from '@tc/testkit/tracker-server';
import { until } from '@tc/testkit/wait';
import { USER_AGENT } from '@tc/wire';
import { ManualClock } from '../src/clock.js';
import { memoryStorage } from '../src/storage/memory.js';
import { loopbackSession, sourceOf } from './helpers.js';

/** bittorrent-tracker's announce interval (10 min): the session re-announces after it. */
const BT_TRACKER_INTERVAL_MS = 10 * 60_000;

describe('Session and its trackers', () => {
  it('announces over HTTP with tc’s user agent, and re-announces on the session’s clock', async () => {
    const tracker = await startBtTracker(Server);
    const announces: { userAgent: string | undefined; event: string | null }[] = [];
    (tracker.server as unknown as { http: HttpServer }).http.on('request', (req: IncomingMessage) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/announce') announces.push({ userAgent: req.headers['user-agent'], event: url.searchParams.get('event') });
    });
    const clock = new ManualClock();
    const session = await loopbackSession({ clock });
    try {
      const t = createTestTorrent({ name: 'ua', announce: [tracker.httpUrl] });
      await session.add(sourceOf(t), { storage: memoryStorage() });
      await until('the first announce', () => announces.length >= 1);
      expect(announces[0]).toEqual({ userAgent: USER_AGENT, event: 'started' });
      // No real time passes: only the manual clock can bring the next announce, so the
      // TrackerSet must be running on it.
      await clock.advanceAsync(BT_TRACKER_INTERVAL_MS - 1_000);
      expect(announces).toHaveLength(1);
      await clock.advanceAsync(2_000);
      await until('the periodic announce', () => announces.length >= 2);
      expect(announces[1]).toEqual({ userAgent: USER_AGENT, event: null });
    } finally {
      await session.close();
      await tracker.stop();
    }
    expect(announces.at(-1)?.event).toBe('stopped');
    expect(clock.pending).toBe(0);
  });
});
