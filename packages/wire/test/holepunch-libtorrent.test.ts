import type { Socket } from 'node:net';
import { hasLibtorrent, startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { tempDir } from '@tc/testkit/tmp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeHolepunch,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeHolepunch,
  encodeMessage,
  ExtensionRouter,
  generatePeerId,
  HolepunchError,
  UT_HOLEPUNCH,
  type Extended,
  type HolepunchMessage,
} from '../src/index.js';
import { makePayloadTorrent, type PayloadTorrent } from './payload-torrent.js';
import { is, PeerConn } from './peer-conn.js';

// ut_holepunch against python3-libtorrent 2.0.8, which always advertises it and acts as a relay.
// Everything is 127.0.0.1 here, so only the messages and the relay's answers can be checked.
const FEATURES = { extended: true, fast: true };

describe('live: ut_holepunch with a python3-libtorrent relay', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let t: PayloadTorrent;
  let relay: LibtorrentPeer;
  const conns: PeerConn[] = [];

  beforeAll(async () => {
    expect(hasLibtorrent()).toBe(true);
    dir = await tempDir('tc-wire-hp-');
    t = await makePayloadTorrent(dir.path, 100_000, 32 * 1024);
    relay = await startLibtorrent({ torrentPath: t.torrentPath, savePath: t.dataDir, seed: true });
    await relay.waitFor('finished');
  });

  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await relay?.stop();
    await dir?.cleanup();
  });

  /** A connection that has done both handshakes and (unless `holepunch` is false) told the relay we speak ut_holepunch (our id 3). */
  async function join(holepunch = true): Promise<{ conn: PeerConn; router: ExtensionRouter; port: number }> {
    const conn = await PeerConn.open(relay.port, { pieceCount: 4, features: FEATURES });
    conns.push(conn);
    const router = new ExtensionRouter(holepunch ? { ut_metadata: 1, [UT_HOLEPUNCH]: 3 } : { ut_metadata: 1 });
    conn.send(encodeHandshake({ infoHash: t.infoHash, peerId: generatePeerId(), features: FEATURES }));
    await conn.next(is('handshake'));
    conn.send(encodeMessage({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: router.localMap }) }));
    const hs = router.route(await conn.next((m): m is Extended => m.type === 'extended' && m.id === 0));
    if (hs.name !== 'handshake') throw new Error('expected the extended handshake');
    expect(hs.handshake.m.has(UT_HOLEPUNCH)).toBe(true);
    await conn.next(is('have-all')); // the relay has read our handshakes by now
    return { conn, router, port: (conn.socket as Socket).localPort! };
  }

  /** The next ut_holepunch message (`past`: or one that came already). */
  const holepunch = (conn: PeerConn, past = false): Promise<HolepunchMessage> =>
    conn.next((m): m is Extended => m.type === 'extended' && m.id === 3, 10_000, past).then((m) => decodeHolepunch(m.payload));

  it('a rendezvous for a peer the relay is not connected to: error NotConnected, echoing the endpoint', async () => {
    const { conn, router } = await join();
    const reply = holepunch(conn);
    conn.send(router.encode(UT_HOLEPUNCH, encodeHolepunch({ type: 'rendezvous', ip: '127.0.0.1', port: 1 }))!);
    expect(await reply).toEqual({ type: 'error', ip: '127.0.0.1', port: 1, code: HolepunchError.NotConnected });
  });

  it('a rendezvous for another peer the relay knows: connect to both, each naming the other', async () => {
    const a = await join();
    const b = await join();
    const replyA = holepunch(a.conn);
    a.conn.send(a.router.encode(UT_HOLEPUNCH, encodeHolepunch({ type: 'rendezvous', ip: '127.0.0.1', port: b.port }))!);
    expect(await replyA).toEqual({ type: 'connect', ip: '127.0.0.1', port: b.port });
    expect(await holepunch(b.conn, true)).toEqual({ type: 'connect', ip: '127.0.0.1', port: a.port });
  });

  it('a rendezvous for ourselves: NoSelf; for a peer without ut_holepunch: NoSupport', async () => {
    const a = await join();
    const plain = await join(false);
    const self = holepunch(a.conn);
    a.conn.send(a.router.encode(UT_HOLEPUNCH, encodeHolepunch({ type: 'rendezvous', ip: '127.0.0.1', port: a.port }))!);
    expect(await self).toEqual({ type: 'error', ip: '127.0.0.1', port: a.port, code: HolepunchError.NoSelf });
    const other = holepunch(a.conn);
    a.conn.send(a.router.encode(UT_HOLEPUNCH, encodeHolepunch({ type: 'rendezvous', ip: '127.0.0.1', port: plain.port }))!);
    expect(await other).toEqual({ type: 'error', ip: '127.0.0.1', port: plain.port, code: HolepunchError.NoSupport });
  });
});
