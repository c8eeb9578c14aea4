import { thrownCode } from '@tc/testkit/tracker-errors';
import { describe, expect, it } from 'vitest';
import { TrackerError } from '../errors.js';
import { expandIpv6 } from '../compact-peers.js';
import { buildAnnounceRequest, buildConnectRequest, buildScrapeRequest, MAX_UDP_REPLY_BYTES, parseUdpReply } from './protocol.js';

const codeOf = (fn: () => unknown): string | undefined => thrownCode(TrackerError, fn);

describe('BEP 15 packets', () => {
  it('builds a connect request (golden bytes)', () => {
    expect(buildConnectRequest(0x01020304).toString('hex')).toBe('0000041727101980' + '00000000' + '01020304');
  });

  it('builds a 98-byte announce request (golden bytes)', () => {
    const b = buildAnnounceRequest(0x1122334455667788n, 7, {
      infoHash: Buffer.alloc(20, 0xaa),
      peerId: Buffer.alloc(20, 0xbb),
      port: 6881,
      uploaded: 3,
      downloaded: 1,
      left: 2 ** 40,
      event: 'stopped',
      key: 0xcafebabe,
    });
    expect(b.length).toBe(98);
    expect(b.toString('hex')).toBe(
      '1122334455667788' +
        '00000001' +
        '00000007' +
        'aa'.repeat(20) +
        'bb'.repeat(20) +
        '0000000000000001' +
        '0000010000000000' +
        '0000000000000003' +
        '00000003' +
        '00000000' +
        'cafebabe' +
        'ffffffff' +
        '1ae1',
    );
  });

  it('builds a scrape request with several hashes and bounds the count', () => {
    const b = buildScrapeRequest(1n, 9, [Buffer.alloc(20, 1), Buffer.alloc(20, 2)]);
    expect(b.length).toBe(16 + 40);
    expect(b.readUInt32BE(8)).toBe(2);
    expect(
      codeOf(() =>
        buildScrapeRequest(
          1n,
          9,
          Array.from({ length: 75 }, () => Buffer.alloc(20)),
        ),
      ),
    ).toBe('TRACKER_BAD_URL');
  });

  it('parses connect, announce (v4 and v6), scrape and error replies', () => {
    const c = Buffer.from('00000000' + '00000005' + '0102030405060708', 'hex');
    expect(parseUdpReply(c, 4)).toEqual({ action: 'connect', transactionId: 5, connectionId: 0x0102030405060708n });

    const a4 = Buffer.concat([Buffer.from('00000001000000060000070800000002' + '00000003', 'hex'), Buffer.from([127, 0, 0, 1, 0x1a, 0xe1, 9])]);
    const r4 = parseUdpReply(a4, 4);
    expect(r4).toMatchObject({ action: 'announce', transactionId: 6, result: { interval: 1800, incomplete: 2, complete: 3, skipped: 1 } });
    expect(r4.action === 'announce' && r4.result.peers).toEqual([{ ip: '127.0.0.1', port: 6881, family: 4 }]);

    const a6 = Buffer.concat([Buffer.from('0000000100000006000007080000000200000003', 'hex'), expandIpv6('::1'), Buffer.from([0, 99])]);
    const r6 = parseUdpReply(a6, 6);
    expect(r6.action === 'announce' && r6.result.peers).toEqual([{ ip: '::1', port: 99, family: 6 }]);

    const s = Buffer.from('00000002' + '00000007' + '000000010000000200000003' + '000000040000000500000006', 'hex');
    expect(parseUdpReply(s, 4)).toEqual({
      action: 'scrape',
      transactionId: 7,
      entries: [
        { complete: 1, downloaded: 2, incomplete: 3 },
        { complete: 4, downloaded: 5, incomplete: 6 },
      ],
    });

    const e = Buffer.concat([Buffer.from('0000000300000008', 'hex'), Buffer.from('go away')]);
    expect(parseUdpReply(e, 4)).toEqual({ action: 'error', transactionId: 8, message: 'go away' });
  });

  it('rejects short, oversized and unknown packets with typed errors', () => {
    expect(codeOf(() => parseUdpReply(Buffer.alloc(7), 4))).toBe('TRACKER_BAD_RESPONSE');
    expect(codeOf(() => parseUdpReply(Buffer.from('000000000000000501020304', 'hex'), 4))).toBe('TRACKER_BAD_RESPONSE');
    expect(codeOf(() => parseUdpReply(Buffer.from('0000000100000005000000', 'hex'), 4))).toBe('TRACKER_BAD_RESPONSE');
    expect(codeOf(() => parseUdpReply(Buffer.from('0000000900000005', 'hex'), 4))).toBe('TRACKER_BAD_RESPONSE');
    expect(codeOf(() => parseUdpReply(Buffer.alloc(MAX_UDP_REPLY_BYTES + 1), 4))).toBe('TRACKER_TOO_LARGE');
  });
});
