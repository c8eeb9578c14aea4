import { ManualClock, type Clock } from '@tc/clock';
import { rejection } from '@tc/testkit/tracker-errors';
import { until } from '@tc/testkit/wait';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { expandIpv6 } from '../src/compact-peers.js';
import { EventEmitter } from 'node:events';
import {
  connectUdpSocket,
  MAX_CONNECTED_UDP_SOCKETS,
  TrackerError,
  UdpTrackerClient,
  type AnnounceRequest,
  type ConnectedUdpSocketFactory,
  type ConnectedUdpSocketLike,
  type Endpoint,
  type UdpSocketFactory,
} from '../src/index.js';

/** A scripted BEP 15 tracker on loopback. `reply` decides what (if anything) to send back. */
interface Received {
  at: number;
  action: number;
  tid: number;
  connectionId: bigint;
  packet: Buffer;
}
type Script = (r: Received, send: (b: Buffer) => void) => void;

const open: Socket[] = [];
const clients: UdpTrackerClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(open.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

async function fakeTracker(script: Script, family: 4 | 6 = 4): Promise<{ url: string; received: Received[] }> {
  const sock = createSocket(family === 6 ? 'udp6' : 'udp4');
  open.push(sock);
  const received: Received[] = [];
  sock.on('message', (packet: Buffer, rinfo: RemoteInfo) => {
    if (packet.length < 16) return;
    const r: Received = {
      at: performance.now(),
      connectionId: packet.readBigUInt64BE(0),
      action: packet.readUInt32BE(8),
      tid: packet.readUInt32BE(12),
      packet,
    };
    received.push(r);
    script(r, (b) => sock.send(b, rinfo.port, rinfo.address));
  });
  const host = family === 6 ? '::1' : '127.0.0.1';
  await new Promise<void>((r) => sock.bind(0, host, r));
  const url = family === 6 ? `udp://[::1]:${sock.address().port}/announce` : `udp://127.0.0.1:${sock.address().port}/announce`;
  return { url, received };
}

const CID = 0x0badc0ffee0ddf00n;

function header(action: number, tid: number, extra = 0): Buffer {
  const b = Buffer.alloc(8 + extra);
  b.writeUInt32BE(action, 0);
  b.writeUInt32BE(tid, 4);
  return b;
}
function connectReply(tid: number, cid = CID): Buffer {
  const b = header(0, tid, 8);
  b.writeBigUInt64BE(cid, 8);
  return b;
}
function announceReply(tid: number, peers: Buffer): Buffer {
  const b = header(1, tid, 12);
  b.writeUInt32BE(1800, 8);
  b.writeUInt32BE(3, 12);
  b.writeUInt32BE(4, 16);
  return Buffer.concat([b, peers]);
}

/** A well-behaved tracker: connect, then announce/scrape only with the id it gave. */
const wellBehaved =
  (peers: Buffer): Script =>
  (r, send) => {
    if (r.action === 0) return send(connectReply(r.tid));
    if (r.connectionId !== CID) return; // wrong id: ignored, as opentracker does
    if (r.action === 1) return send(announceReply(r.tid, peers));
    if (r.action === 2) {
      const n = (r.packet.length - 16) / 20;
      const b = header(2, r.tid, 12 * n);
      for (let i = 0; i < n; i++) b.writeUInt32BE(i + 1, 8 + 12 * i);
      send(b);
    }
  };

const req: AnnounceRequest = {
  infoHash: Buffer.alloc(20, 0xcd),
  peerId: Buffer.from('-TC0001-abcdefghijkl'),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 5,
  event: 'started',
  key: 7,
};

/** Retransmits only where a test asks for them: under load a 100 ms base would resend before a loopback reply arrives. */
function client(opts: ConstructorParameters<typeof UdpTrackerClient>[0] = {}): UdpTrackerClient {
  const c = new UdpTrackerClient({ retransmitBaseMs: 5_000, maxRetransmits: 2, ...opts });
  clients.push(c);
  return c;
}

const errorOf = (p: Promise<unknown>): Promise<TrackerError> => rejection(TrackerError, p);

describe('UDP tracker client against fake trackers', () => {
  it('connects, announces with the connection id, and parses IPv4 peers', async () => {
    const t = await fakeTracker(wellBehaved(Buffer.from([10, 1, 2, 3, 0x1a, 0xe1])));
    const r = await client().announce(t.url, req);
    expect(r).toMatchObject({ interval: 1800, incomplete: 3, complete: 4, peers: [{ ip: '10.1.2.3', port: 6881, family: 4 }] });
    expect(t.received.map((x) => x.action)).toEqual([0, 1]);
    expect(t.received[0]?.connectionId).toBe(0x41727101980n);
  });

  it('parses 18-byte peers from a tracker reached over IPv6', async () => {
    const t = await fakeTracker(wellBehaved(Buffer.concat([expandIpv6('fe80::2'), Buffer.from([0, 80])])), 6);
    const r = await client().announce(t.url, req);
    expect(r.peers).toEqual([{ ip: 'fe80::2', port: 80, family: 6 }]);
  });

  it('reuses the connection id for its lifetime and renews it after', async () => {
    const t = await fakeTracker(wellBehaved(Buffer.alloc(0)));
    const clock = new ManualClock();
    const c = client({ connectionIdLifetimeMs: 300, clock });
    await c.announce(t.url, req);
    await clock.advanceAsync(299);
    await c.scrape(t.url, [Buffer.alloc(20, 1), Buffer.alloc(20, 2)]);
    expect(t.received.map((x) => x.action)).toEqual([0, 1, 2]);
    await clock.advanceAsync(2);
    await c.announce(t.url, req);
    expect(t.received.map((x) => x.action)).toEqual([0, 1, 2, 0, 1]);
  });

  it('scrapes several hashes in one packet and maps them in order', async () => {
    const t = await fakeTracker(wellBehaved(Buffer.alloc(0)));
    const h = [Buffer.alloc(20, 1), Buffer.alloc(20, 2), Buffer.alloc(20, 3)];
    const r = await client().scrape(t.url, h);
    expect([...r.files.values()].map((e) => [e.infoHash.toString('hex'), e.complete])).toEqual(h.map((x, i) => [x.toString('hex'), i + 1]));
    expect(t.received[1]?.packet.length).toBe(16 + 60);
  });

  it('retransmits on the base·2ⁿ schedule, then times out', async () => {
    const t = await fakeTracker(() => undefined);
    // A manual clock: the schedule is checked exactly, with no wall-clock bound to stretch under load.
    const clock = new ManualClock();
    const sentAt: number[] = [];
    const onPacket = (p: { direction: 'sent' | 'received' }): void => {
      if (p.direction === 'sent') sentAt.push(clock.now());
    };
    let failedAt: number | undefined;
    const e = errorOf(client({ retransmitBaseMs: 100, maxRetransmits: 3, onPacket, clock }).announce(t.url, req));
    void e.then(() => (failedAt = clock.now()));
    await until('the first send', () => sentAt.length === 1);
    // 100, 200, 400 ms between tries, then 800 ms for the last answer.
    await clock.advanceAsync(1_499);
    expect(sentAt).toEqual([0, 100, 300, 700]);
    expect(failedAt).toBeUndefined();
    await clock.advanceAsync(1);
    expect((await e).code).toBe('TRACKER_TIMEOUT');
    expect(failedAt).toBe(1_500);
    await until('every try at the tracker', () => t.received.length === 4);
    expect(t.received.every((x) => x.action === 0)).toBe(true);
  });

  it('ignores replies with a wrong transaction id', async () => {
    const t = await fakeTracker((r, send) => send(connectReply((r.tid + 1) >>> 0)));
    const c = client({ retransmitBaseMs: 50, maxRetransmits: 1 });
    expect((await errorOf(c.announce(t.url, req))).code).toBe('TRACKER_TIMEOUT');
    expect(c.ignoredReplies).toBe(2);
  });

  it('accepts the right reply after a wrong one', async () => {
    const t = await fakeTracker((r, send) => {
      if (r.action === 0) {
        // The wrong one first: loopback datagrams from one socket arrive in the order sent.
        send(connectReply((r.tid ^ 0xffff) >>> 0, 1n));
        send(connectReply(r.tid));
      } else send(announceReply(r.tid, Buffer.alloc(0)));
    });
    const c = client();
    expect((await c.announce(t.url, req)).interval).toBe(1800);
    expect(t.received[1]?.connectionId).toBe(CID);
  });

  it('rejects truncated and oversized replies with typed errors', async () => {
    const short = await fakeTracker((r, send) => send(connectReply(r.tid).subarray(0, 12)));
    expect((await errorOf(client().announce(short.url, req))).code).toBe('TRACKER_BAD_RESPONSE');
    const shortAnnounce = await fakeTracker((r, send) => (r.action === 0 ? send(connectReply(r.tid)) : send(header(1, r.tid, 4))));
    expect((await errorOf(client().announce(shortAnnounce.url, req))).code).toBe('TRACKER_BAD_RESPONSE');
    const huge = await fakeTracker((r, send) => (r.action === 0 ? send(connectReply(r.tid)) : send(announceReply(r.tid, Buffer.alloc(30_000, 1)))));
    expect((await errorOf(client().announce(huge.url, req))).code).toBe('TRACKER_TOO_LARGE');
  });

  it('turns an error action into TRACKER_FAILURE with the message', async () => {
    const t = await fakeTracker((r, send) => send(Buffer.concat([header(3, r.tid), Buffer.from('info_hash not allowed')])));
    const e = await errorOf(client().announce(t.url, req));
    expect([e.code, e.trackerMessage]).toEqual(['TRACKER_FAILURE', 'info_hash not allowed']);
  });

  it('forgets the connection id after an error reply, and connects again', async () => {
    let failed = false;
    const t = await fakeTracker((r, send) => {
      if (r.action === 1 && !failed) {
        failed = true;
        return send(Buffer.concat([header(3, r.tid), Buffer.from('connection id expired')]));
      }
      wellBehaved(Buffer.alloc(0))(r, send);
    });
    const c = client();
    expect((await errorOf(c.announce(t.url, req))).trackerMessage).toBe('connection id expired');
    await c.announce(t.url, req);
    expect(t.received.map((x) => x.action)).toEqual([0, 1, 0, 1]);
  });

  it('serves many trackers from one socket per family', async () => {
    const a = await fakeTracker(wellBehaved(Buffer.from([1, 1, 1, 1, 0, 1])));
    const b = await fakeTracker(wellBehaved(Buffer.from([2, 2, 2, 2, 0, 2])));
    const c6 = await fakeTracker(wellBehaved(Buffer.alloc(0)), 6);
    let made = 0;
    const factory: UdpSocketFactory = (family) => {
      made++;
      return createSocket(family === 6 ? 'udp6' : 'udp4');
    };
    const c = client({ socketFactory: factory });
    const [ra, rb] = await Promise.all([c.announce(a.url, req), c.announce(b.url, req), c.announce(c6.url, req)]);
    expect(ra.peers[0]?.ip).toBe('1.1.1.1');
    expect(rb.peers[0]?.ip).toBe('2.2.2.2');
    expect(made).toBe(2);
  });

  it('leaves no socket or timer behind after close', async () => {
    const t = await fakeTracker(wellBehaved(Buffer.alloc(0)));
    const sockets: { closed: boolean }[] = [];
    const factory: UdpSocketFactory = (family) => {
      const s = createSocket(family === 6 ? 'udp6' : 'udp4');
      const rec = { closed: false };
      s.on('close', () => (rec.closed = true));
      sockets.push(rec);
      return s;
    };
    const live = new Set<unknown>();
    const clock: Clock = {
      now: () => performance.now(),
      setTimeout: (fn, ms) => {
        const h = setTimeout(() => {
          live.delete(h);
          fn();
        }, ms);
        live.add(h);
        return {
          cancel: () => {
            live.delete(h);
            clearTimeout(h);
          },
        };
      },
      setInterval: () => {
        throw new Error('the UDP client sets no interval');
      },
    };
    const c = new UdpTrackerClient({ retransmitBaseMs: 5_000, socketFactory: factory, clock });
    await c.announce(t.url, req);
    const pending = c.announce(t.url, { ...req, infoHash: Buffer.alloc(20, 1) }).catch((e: unknown) => e);
    await c.close();
    expect(((await pending) as TrackerError).code).toBe('TRACKER_ABORTED');
    expect(sockets.length).toBe(1);
    expect(sockets.every((x) => x.closed)).toBe(true);
    expect(live.size).toBe(0);
  });

  it('aborts and closes cleanly', async () => {
    const t = await fakeTracker(() => undefined);
    const c = client({ retransmitBaseMs: 10_000 });
    const ctl = new AbortController();
    const p = c.announce(t.url, req, { signal: ctl.signal });
    // Aborted while its request is out (the tracker has it), and closed while another one is.
    await until('the first request at the tracker', () => t.received.length === 1);
    ctl.abort();
    expect((await errorOf(p)).code).toBe('TRACKER_ABORTED');
    const p2 = c.announce(t.url, req);
    await until('the second request at the tracker', () => t.received.length === 2);
    await c.close();
    expect((await errorOf(p2)).code).toBe('TRACKER_ABORTED');
  });

  it('reports a DNS failure from the injected resolver', async () => {
    const c = client({ lookup: () => Promise.reject(Object.assign(new Error('nope'), { code: 'ENOTFOUND' })) });
    expect((await errorOf(c.announce('udp://tracker.invalid:6969/announce', req))).code).toBe('TRACKER_DNS');
  });
});

/** A UDP port with nothing behind it: bound on port 0, noted, closed. The kernel answers ICMP port unreachable. */
async function closedPort(family: 4 | 6 = 4): Promise<string> {
  const s = createSocket(family === 6 ? 'udp6' : 'udp4');
  const host = family === 6 ? '::1' : '127.0.0.1';
  await new Promise<void>((r) => s.bind(0, host, r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return family === 6 ? `udp://[::1]:${port}/announce` : `udp://127.0.0.1:${port}/announce`;
}

/** A connected socket the test drives: it records sends and emits what the test says. */
class FakeConnected extends EventEmitter implements ConnectedUdpSocketLike {
  sent: Buffer[] = [];
  closed = false;
  constructor(readonly to: Endpoint) {
    super();
  }
  send(msg: Buffer, callback?: (err: Error | null) => void): void {
    this.sent.push(msg);
    callback?.(null);
  }
  close(callback?: () => void): void {
    this.closed = true;
    callback?.();
  }
}

describe('UDP tracker client with one connected socket per tracker', () => {
  it('fails a closed port at once with TRACKER_REFUSED, after one datagram and no retransmission', async () => {
    const url = await closedPort();
    const sent: Buffer[] = [];
    // A 30 s schedule: only the kernel's ICMP answer can end this before the test's own timeout.
    const c = client({ sockets: 'per-tracker', retransmitBaseMs: 30_000, maxRetransmits: 2, onPacket: (p) => p.direction === 'sent' && sent.push(p.bytes) });
    const e = await errorOf(c.announce(url, req));
    expect(e.code).toBe('TRACKER_REFUSED');
    expect(e.url).toBe(url);
    expect(e.message).toMatch(/^port unreachable: nothing listens on UDP 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/);
    expect(sent).toHaveLength(1);
    // The same for a scrape, and over IPv6.
    expect((await errorOf(c.scrape(url, [Buffer.alloc(20, 1)]))).code).toBe('TRACKER_REFUSED');
    expect((await errorOf(c.announce(await closedPort(6), req))).code).toBe('TRACKER_REFUSED');
  });

  it('still times out for a tracker that reads and never answers', async () => {
    const t = await fakeTracker(() => undefined);
    const e = await errorOf(client({ sockets: 'per-tracker', retransmitBaseMs: 50, maxRetransmits: 1 }).announce(t.url, req));
    expect(e.code).toBe('TRACKER_TIMEOUT');
    expect(t.received).toHaveLength(2);
  });

  it('the shared socket cannot tell a closed port from silence: a timeout', async () => {
    const e = await errorOf(client({ retransmitBaseMs: 50, maxRetransmits: 1 }).announce(await closedPort(), req));
    expect(e.code).toBe('TRACKER_TIMEOUT');
  });

  it('speaks BEP 15 as usual over one connected socket per tracker address, closed by close()', async () => {
    const a = await fakeTracker(wellBehaved(Buffer.from([1, 1, 1, 1, 0, 1])));
    const b = await fakeTracker(wellBehaved(Buffer.alloc(0)), 6);
    const opened: { to: Endpoint; closed: boolean }[] = [];
    const factory: ConnectedUdpSocketFactory = async (to) => {
      const s = await connectUdpSocket(to);
      const rec = { to, closed: false };
      (s as unknown as EventEmitter).on('close', () => (rec.closed = true));
      opened.push(rec);
      return s;
    };
    const c = new UdpTrackerClient({ sockets: 'per-tracker', connectedSocketFactory: factory, retransmitBaseMs: 1_000 });
    const [ra] = await Promise.all([c.announce(a.url, req), c.announce(b.url, req)]);
    expect(ra.peers[0]?.ip).toBe('1.1.1.1');
    await c.scrape(a.url, [Buffer.alloc(20, 1)]);
    // The connection id from the first exchange is reused (BEP 15), on the same socket.
    expect(a.received.map((x) => x.action)).toEqual([0, 1, 2]);
    expect(opened.map((o) => o.to.family).sort()).toEqual([4, 6]);
    await c.close();
    expect(opened.every((o) => o.closed)).toBe(true);
  });

  it('maps the socket’s errors: refused and unreachable fail the tracker’s waiters, others are left to time out', async () => {
    const socks: FakeConnected[] = [];
    const c = client({
      sockets: 'per-tracker',
      retransmitBaseMs: 50,
      maxRetransmits: 0,
      connectedSocketFactory: async (to) => {
        const s = new FakeConnected(to);
        socks.push(s);
        return s;
      },
    });
    const errAfterSend = async (url: string, code: string): Promise<TrackerError> => {
      const p = errorOf(c.announce(url, req));
      for (let i = 0; i < 100 && !socks.some((s) => s.to.port === Number(new URL(url).port) && s.sent.length > 0); i++)
        await new Promise((r) => setImmediate(r));
      const s = socks.find((x) => x.to.port === Number(new URL(url).port))!;
      s.emit('error', Object.assign(new Error(code), { code }));
      return p;
    };
    expect((await errAfterSend('udp://127.0.0.1:7001/announce', 'ECONNREFUSED')).code).toBe('TRACKER_REFUSED');
    expect((await errAfterSend('udp://127.0.0.1:7002/announce', 'EHOSTUNREACH')).code).toBe('TRACKER_NETWORK');
    expect((await errAfterSend('udp://127.0.0.1:7003/announce', 'ENOBUFS')).code).toBe('TRACKER_TIMEOUT');
  });

  it('past the socket cap, further trackers share one unconnected socket', async () => {
    let connected = 0;
    let shared = 0;
    const c = client({
      sockets: 'per-tracker',
      retransmitBaseMs: 1,
      maxRetransmits: 0,
      connectedSocketFactory: async (to) => {
        connected++;
        return new FakeConnected(to);
      },
      socketFactory: () => {
        shared++;
        return { send: (_m, _p, _a, cb) => cb?.(null), on: () => undefined, close: (cb) => cb?.() };
      },
    });
    const urls = Array.from({ length: MAX_CONNECTED_UDP_SOCKETS + 3 }, (_, i) => `udp://127.0.0.1:${10_000 + i}/announce`);
    const codes = await Promise.all(urls.map(async (u) => (await errorOf(c.announce(u, req))).code));
    expect(new Set(codes)).toEqual(new Set(['TRACKER_TIMEOUT']));
    expect(connected).toBe(MAX_CONNECTED_UDP_SOCKETS);
    expect(shared).toBe(1);
  });
});
