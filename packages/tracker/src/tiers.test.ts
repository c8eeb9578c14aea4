import { ManualClock } from '@tc/clock';
import { describe, expect, it } from 'vitest';
import { TrackerError } from './errors.js';
import { TrackerSet, type TrackerSetOptions, type TrackerStatus } from './tiers.js';
import type { TrackerTransport } from './transport.js';
import type { AnnounceEvent, AnnounceRequest, AnnounceResult, Peer } from './types.js';

type Behaviour = AnnounceResult | TrackerError | 'hang';

/** A transport whose trackers answer from a script; records every call with its clock time. */
class FakeTransport implements TrackerTransport {
  calls: { url: string; event: AnnounceEvent; at: number; trackerId?: string }[] = [];
  behaviour = new Map<string, Behaviour>();
  constructor(private readonly clock: ManualClock) {}
  announce(url: string, req: AnnounceRequest, signal?: AbortSignal): Promise<AnnounceResult> {
    this.calls.push({ url, event: req.event, at: this.clock.now(), ...(req.trackerId ? { trackerId: req.trackerId.toString() } : {}) });
    const b = this.behaviour.get(url) ?? new TrackerError('TRACKER_REFUSED', 'refused', { url });
    if (b === 'hang') {
      return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new TrackerError('TRACKER_ABORTED', 'aborted'))));
    }
    return b instanceof TrackerError ? Promise.reject(b) : Promise.resolve(b);
  }
  scrape(): never {
    throw new Error('unused');
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const ok = (peers: Peer[] = [], extra: Partial<AnnounceResult> = {}): AnnounceResult => ({ interval: 1800, peers, skipped: 0, ...extra });

function setup(tiers: string[][], over: Partial<TrackerSetOptions> = {}) {
  const clock = new ManualClock();
  const transport = new FakeTransport(clock);
  // A fixed random source: no shuffle surprises (j = 0 always swaps with the first, so use 0.999).
  const set = new TrackerSet({
    tiers,
    infoHash: Buffer.alloc(20, 1),
    peerId: Buffer.alloc(20, 2),
    port: 6881,
    transport,
    stats: () => ({ uploaded: 0, downloaded: 0, left: 100 }),
    clock,
    random: () => 0.999,
    ...over,
  });
  return { clock, transport, set };
}

describe('TrackerSet (BEP 12)', () => {
  it('shuffles each tier once with the injected random source', () => {
    const seq = [0, 0, 0, 0, 0];
    const { set } = setup([['a', 'b', 'c']], { random: () => seq.shift() ?? 0 });
    // Fisher–Yates with j = 0 each step: [a,b,c] → [c,b,a] → [b,c,a]
    expect(set.status().map((s) => s.url)).toEqual(['b', 'c', 'a']);
  });

  it('falls through a dead tier, moves the answering tracker to the front, and emits peers', async () => {
    const { set, transport } = setup([
      ['a1', 'a2'],
      ['b1', 'b2'],
    ]);
    transport.behaviour.set('b2', ok([{ ip: '1.0.0.1', port: 6881, family: 4 }]));
    const peers: Peer[][] = [];
    set.on('peers', (e) => peers.push(e.peers));
    const out = await set.start();
    expect(out?.url).toBe('b2');
    expect(transport.calls.map((c) => c.url)).toEqual(['a1', 'a2', 'b1', 'b2']);
    expect(transport.calls.every((c) => c.event === 'started')).toBe(true);
    expect(set.status().map((s) => s.url)).toEqual(['a1', 'a2', 'b2', 'b1']);
    expect(peers).toEqual([[{ ip: '1.0.0.1', port: 6881, family: 4 }]]);
    await set.stop();
  });

  it('clamps the interval, re-announces on schedule, echoes tracker id, and stops with `stopped`', async () => {
    const { set, transport, clock } = setup([['a']]);
    transport.behaviour.set('a', ok([], { interval: 1, trackerId: Buffer.from('T1') }));
    await set.start();
    expect(set.nextAnnounceAt).toBe(300_000);
    await clock.advanceAsync(299_999);
    expect(transport.calls.length).toBe(1);
    await clock.advanceAsync(1);
    expect(transport.calls.map((c) => [c.event, c.at, c.trackerId])).toEqual([
      ['started', 0, undefined],
      ['periodic', 300_000, 'T1'],
    ]);
    await set.stop();
    expect(transport.calls.at(-1)?.event).toBe('stopped');
    expect(clock.pending).toBe(0);
  });

  it('caps a huge interval (UDP sends any u32) below the timer limit, so it never fires at once', async () => {
    const { set, transport } = setup([['a']]);
    // 0xffffffff s: as a setTimeout delay in ms it overflows 2^31-1 and Node would fire after 1 ms.
    transport.behaviour.set('a', ok([], { interval: 0xffffffff }));
    await set.start();
    expect(set.nextAnnounceAt).toBe(7 * 24 * 3600 * 1000);
    await set.stop();
  });

  it('honours min interval for an announce asked early', async () => {
    const { set, transport, clock } = setup([['a']]);
    transport.behaviour.set('a', ok([], { minInterval: 120 }));
    await set.start();
    const p = set.announceNow();
    await clock.advanceAsync(119_000);
    expect(transport.calls.length).toBe(1);
    await clock.advanceAsync(1_000);
    await p;
    expect(transport.calls.map((c) => [c.event, c.at])).toEqual([
      ['started', 0],
      ['periodic', 120_000],
    ]);
    await set.stop();
  });

  it('answers every early caller with the one deferred announce, and stop releases waiters', async () => {
    const { set, transport, clock } = setup([['a']]);
    transport.behaviour.set('a', ok([], { minInterval: 120 }));
    await set.start();
    const first = set.announceNow();
    const second = set.announceNow();
    await clock.advanceAsync(120_000);
    expect((await first)?.url).toBe('a');
    expect((await second)?.url).toBe('a');
    expect(transport.calls.length).toBe(2);
    const third = set.announceNow();
    const done = await set.completed(); // an event goes out at once, min interval or not
    expect(done?.url).toBe('a');
    expect(transport.calls.at(-1)).toMatchObject({ event: 'completed', at: 120_000 });
    expect(await third).toBe(done);
    const fourth = set.announceNow();
    await set.stop();
    expect(await fourth).toBeUndefined();
  });

  it('backs off a failing tracker exponentially with jitter instead of hammering it', async () => {
    const { set, transport, clock } = setup([['a']], { random: () => 0.5, backoffBaseMs: 10_000 });
    const statuses: TrackerStatus[] = [];
    set.on('status', (s) => statuses.push(s));
    await set.start();
    await clock.advanceAsync(200_000);
    // random 0.5 → jitter factor 1: retries at 10 s, +20 s, +40 s, +80 s
    expect(transport.calls.map((c) => c.at)).toEqual([0, 10_000, 30_000, 70_000, 150_000]);
    const last = statuses.at(-1)!;
    expect(last.state).toBe('error');
    expect(last.lastError?.code).toBe('TRACKER_REFUSED');
    expect(last.failures).toBe(5);
    await set.stop();
    // nobody accepted `started`, so no `stopped` is sent
    expect(transport.calls.length).toBe(5);
  });

  it('applies the jitter range', async () => {
    const { set, transport, clock } = setup([['a']], { random: () => 0, backoffBaseMs: 10_000 });
    await set.start();
    await clock.advanceAsync(10_000);
    expect(transport.calls.map((c) => c.at)).toEqual([0, 7_500]);
    await set.stop();
  });

  it('skips a tracker in backoff and uses the next one in its tier', async () => {
    const { set, transport, clock } = setup([['a', 'b']], { minIntervalS: 10 });
    transport.behaviour.set('b', ok([], { interval: 10 }));
    await set.start();
    expect(transport.calls.map((c) => c.url)).toEqual(['a', 'b']);
    await clock.advanceAsync(10_000);
    // b is now first; a (backing off until ~15 s) is not tried
    expect(transport.calls.map((c) => `${c.url}:${c.event}`)).toEqual(['a:started', 'b:started', 'b:periodic']);
    await set.stop();
  });

  it('sends `started` to a tracker that never saw it, and `completed` once', async () => {
    const { set, transport, clock } = setup([['a'], ['b']], { minIntervalS: 10, minManualGapS: 0 });
    transport.behaviour.set('a', ok([], { interval: 10 }));
    await set.start();
    transport.behaviour.delete('a');
    transport.behaviour.set('b', ok([], { interval: 10 }));
    await clock.advanceAsync(10_000);
    expect(transport.calls.map((c) => `${c.url}:${c.event}`)).toEqual(['a:started', 'a:periodic', 'b:started']);
    await set.completed();
    expect(transport.calls.at(-1)).toMatchObject({ url: 'b', event: 'completed' });
    await set.stop();
    expect(transport.calls.at(-1)).toMatchObject({ url: 'b', event: 'stopped' });
  });

  it('filters our own address and peer id, and duplicates', async () => {
    const { set, transport } = setup([['udp://127.0.0.1:1']], { selfAddresses: ['127.0.0.1'] });
    transport.behaviour.set(
      'udp://127.0.0.1:1',
      ok([
        { ip: '127.0.0.1', port: 6881, family: 4 },
        { ip: '127.0.0.1', port: 6882, family: 4 },
        { ip: '127.0.0.1', port: 6882, family: 4 },
        { ip: '10.0.0.9', port: 5, family: 4, peerId: Buffer.alloc(20, 2) },
      ]),
    );
    const got: Peer[] = [];
    set.on('peers', (e) => got.push(...e.peers));
    await set.start();
    expect(got).toEqual([{ ip: '127.0.0.1', port: 6882, family: 4 }]);
    await set.stop();
  });

  /** Ports of the peers a TrackerSet with the one tracker `url` passes on when it answers with `peers`. */
  async function portsPassedOn(url: string, peers: Peer[]): Promise<number[]> {
    const { set, transport } = setup([[url]]);
    transport.behaviour.set(url, ok(peers));
    const got: Peer[] = [];
    set.on('peers', (e) => got.push(...e.peers));
    await set.start();
    await set.stop();
    return got.map((p) => p.port);
  }

  it('drops loopback and LAN peers from a public tracker, keeps them from a local one', async () => {
    const peers: Peer[] = [
      { ip: '127.0.0.1', port: 7000, family: 4 },
      { ip: '192.168.1.5', port: 7001, family: 4 },
      { ip: '::1', port: 7002, family: 6 },
      { ip: '8.8.4.4', port: 7003, family: 4 },
    ];
    expect(await portsPassedOn('http://tracker.example/announce', peers)).toEqual([7003]);
    expect(await portsPassedOn('udp://127.0.0.1:6969', peers)).toEqual([7000, 7001, 7002, 7003]);
  });

  it('drops peers on privileged ports (< 1024) from a public tracker, keeps them from a local one', async () => {
    // RELIABILITY #29: a hostile tracker can point the swarm at a web, mail or SSH server.
    const peers: Peer[] = [
      { ip: '8.8.4.4', port: 22, family: 4 },
      { ip: '8.8.4.4', port: 1023, family: 4 },
      { ip: '8.8.4.4', port: 1024, family: 4 },
    ];
    expect(await portsPassedOn('http://tracker.example/announce', peers)).toEqual([1024]);
    expect(await portsPassedOn('udp://127.0.0.1:6969', peers)).toEqual([22, 1023, 1024]);
  });

  it('bounds the stopped announce and aborts a hanging one on stop', async () => {
    const { set, transport, clock } = setup([['a']], { stopTimeoutMs: 1_000 });
    transport.behaviour.set('a', ok());
    await set.start();
    transport.behaviour.set('a', 'hang');
    const stopping = set.stop();
    await clock.advanceAsync(1_000);
    await stopping;
    expect(transport.calls.at(-1)?.event).toBe('stopped');
    expect(clock.pending).toBe(0);
  });

  it('emits a tracker warning', async () => {
    const { set, transport } = setup([['a']]);
    transport.behaviour.set('a', ok([], { warning: 'slow down' }));
    const w: string[] = [];
    set.on('warning', (e) => w.push(e.message));
    await set.start();
    expect(w).toEqual(['slow down']);
    await set.stop();
  });
});
