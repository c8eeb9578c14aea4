import { ManualClock } from '@tc/clock';
import { freeTcpUdpPort } from '@tc/testkit/opentracker';
import { startBtTracker, type RunningBtTracker } from '@tc/testkit/tracker-server';
import { Server } from 'bittorrent-tracker';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnoseTracker, TrackerProber, type AnnounceRequest } from '../src/index.js';

/** The diagnostic probes against a real tracker on loopback (bittorrent-tracker), a closed TCP port and a closed UDP port. */

const infoHash = createHash('sha1').update('tc-probe-test').digest();
const req: AnnounceRequest = {
  infoHash,
  peerId: Buffer.from('-TC0001-probeprobe00'),
  port: 20_001,
  uploaded: 0,
  downloaded: 0,
  left: 0,
  event: 'started',
  key: 1,
  numwant: 50,
};
let bt: RunningBtTracker;
let prober: TrackerProber;
let deadHttp: string;
let closedUdp: string;

beforeAll(async () => {
  bt = await startBtTracker(Server);
  // A port free for TCP and UDP alike: nothing listens there.
  deadHttp = `http://127.0.0.1:${await freeTcpUdpPort()}/announce`;
  closedUdp = `udp://127.0.0.1:${await freeTcpUdpPort()}/announce`;
  prober = new TrackerProber({ userAgent: 'tc-test/1', timeoutMs: 3_000, udpRetransmitBaseMs: 1_000, udpMaxRetransmits: 1, keepRaw: true });
});

afterAll(async () => {
  await prober?.close();
  await bt?.stop();
});

const signal = (): AbortSignal => new AbortController().signal;

describe('TrackerProber', () => {
  it('announces over HTTP and UDP, timing the UDP round trip and keeping the raw exchanges', async () => {
    const http = await prober.announce(bt.httpUrl, req, signal());
    expect(http.ok).toBe(true);
    expect(http.date?.header).toMatch(/GMT$/);
    expect(http.raw.map((x) => x.direction)).toEqual(['request', 'response']);
    expect(http.raw[0]!.text).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/announce\?info_hash=/);
    const udp = await prober.announce(bt.udpUrl, { ...req, peerId: Buffer.from('-TC0001-probeprobe01'), port: 20_002 }, signal());
    expect(udp.ok && udp.value.peers.map((p) => p.port)).toContain(20_001);
    expect(udp.connectMs).toBeGreaterThanOrEqual(0);
    // The BEP 15 connect request (protocol id 0x41727101980) went out first, in hex.
    expect(udp.raw[0]).toMatchObject({ direction: 'request', text: expect.stringMatching(/^0000041727101980/) });
  });

  it('tells whether a tracker is up: alive, dead (refused, for TCP and UDP alike), unsupported', async () => {
    expect(await prober.reach(bt.httpUrl, infoHash, signal())).toMatchObject({ state: 'alive' });
    expect(await prober.reach(bt.udpUrl, infoHash, signal())).toMatchObject({ state: 'alive', connectMs: expect.any(Number) });
    expect(await prober.reach(deadHttp, infoHash, signal())).toMatchObject({ state: 'dead', code: 'TRACKER_REFUSED' });
    // On a clock that never moves no retransmission timer can fire: only the ICMP port unreachable
    // (seen through the connected socket) can end this probe.
    const still = new TrackerProber({ userAgent: 'tc-test/1', udpRetransmitBaseMs: 1_000, udpMaxRetransmits: 1, clock: new ManualClock() });
    try {
      expect(await still.reach(closedUdp, infoHash, signal())).toMatchObject({ state: 'dead', code: 'TRACKER_REFUSED' });
    } finally {
      await still.close();
    }
    expect(await prober.reach('wss://127.0.0.1:1/announce', infoHash, signal())).toMatchObject({ state: 'unsupported' });
  });

  it('reports an abort as a timeout of the overall limit when it has one', async () => {
    const p = new TrackerProber({ userAgent: 'tc-test/1', udpRetransmitBaseMs: 60_000, udpMaxRetransmits: 0, deadlineMs: 1_500 });
    const silent = createSocket('udp4');
    silent.on('message', () => undefined);
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    try {
      const ctl = new AbortController();
      const step = p.announce(`udp://127.0.0.1:${silent.address().port}/announce`, req, ctl.signal);
      ctl.abort();
      const r = await step;
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error).toMatchObject({ code: 'TRACKER_TIMEOUT', message: 'no answer within the total time limit of 1.5 s' });
    } finally {
      await p.close();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});

describe('diagnoseTracker', () => {
  it('names the step that failed: TCP connect for HTTP, BEP 15 connect for UDP', async () => {
    expect(await diagnoseTracker(prober, deadHttp, req, signal())).toMatchObject({
      addresses: ['127.0.0.1'],
      failure: { step: 'connect', error: { code: 'TRACKER_REFUSED' } },
    });
    const udp = await diagnoseTracker(prober, closedUdp, req, signal());
    expect(udp).toMatchObject({ failure: { step: 'connect', error: { code: 'TRACKER_REFUSED' } }, announce: { error: { code: 'TRACKER_REFUSED' } } });
    expect(udp.connectMs).toBeUndefined();
  });

  it('announces, scrapes and leaves out our own address', async () => {
    const d = await diagnoseTracker(prober, bt.httpUrl, req, signal(), { isSelf: (p) => p.port === req.port });
    expect(d.failure).toBeUndefined();
    expect(d.connectMs).toBeGreaterThanOrEqual(0);
    expect(d.announce !== undefined && 'result' in d.announce && d.announce.result.peers.map((p) => p.port)).not.toContain(req.port);
    expect(d.scrape).toMatchObject({ entry: { infoHash } });
  });
});
