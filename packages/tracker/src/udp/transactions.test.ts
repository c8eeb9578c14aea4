import { describe, expect, it } from 'vitest';
import { TrackerError } from '../errors.js';
import type { UdpReply } from './protocol.js';
import { ConnectionIdCache, TransactionTable } from './transactions.js';

describe('ConnectionIdCache', () => {
  it('keeps an id for one minute from receipt, then forgets it', () => {
    let now = 1000;
    const c = new ConnectionIdCache(() => now);
    c.set('a', 42n);
    now += 59_999;
    expect(c.get('a')).toBe(42n);
    now += 1;
    expect(c.get('a')).toBeUndefined();
  });
});

describe('TransactionTable', () => {
  const from = { address: '127.0.0.1', port: 7000, family: 4 as const };
  const connectReply = (tid: number): Buffer => {
    const b = Buffer.alloc(16);
    b.writeUInt32BE(tid, 4);
    b.writeBigUInt64BE(99n, 8);
    return b;
  };

  it('delivers by transaction id and ignores unknown ids and other senders', () => {
    const t = new TransactionTable(() => 0.5);
    const got: (UdpReply | TrackerError)[] = [];
    const id = t.allocate();
    t.register(id, from, (r) => got.push(r));
    expect(t.route(connectReply(id + 1), from)).toBe('unknown-transaction');
    expect(t.route(connectReply(id), { ...from, port: 7001 })).toBe('wrong-source');
    expect(t.route(connectReply(id), { ...from, address: '127.0.0.2' })).toBe('wrong-source');
    expect(got).toEqual([]);
    expect(t.route(connectReply(id), { ...from, address: '::ffff:127.0.0.1' })).toBe('delivered');
    expect(got).toEqual([{ action: 'connect', transactionId: id, connectionId: 99n }]);
    expect(t.ignored).toBe(3);
    expect(t.size).toBe(0);
  });

  it('allocates ids not in use', () => {
    const seq = [0.1, 0.1, 0.2];
    const t = new TransactionTable(() => seq.shift() ?? 0.3);
    const a = t.allocate();
    t.register(a, from, () => undefined);
    expect(t.allocate()).not.toBe(a);
  });

  it('rejects a malformed reply to the waiter with a typed error', () => {
    const t = new TransactionTable(() => 0.25);
    const id = t.allocate();
    let got: UdpReply | TrackerError | undefined;
    t.register(id, from, (r) => (got = r));
    const short = Buffer.alloc(12);
    short.writeUInt32BE(id, 4);
    expect(t.route(short, from)).toBe('rejected');
    expect(got).toBeInstanceOf(TrackerError);
    expect((got as TrackerError).code).toBe('TRACKER_BAD_RESPONSE');
  });
});

describe('TransactionTable.failFrom', () => {
  it('fails the waiters of one address only, and leaves the others waiting', () => {
    const seq = [0.1, 0.2, 0.3];
    const t = new TransactionTable(() => seq.shift() ?? 0.4);
    const a = { address: '127.0.0.1', port: 7000, family: 4 as const };
    const b = { address: '127.0.0.1', port: 7001, family: 4 as const };
    const got: string[] = [];
    for (const [name, from] of [
      ['a1', a],
      ['b', b],
      ['a2', a],
    ] as const) {
      t.register(t.allocate(), from, (r) => got.push(`${name}:${r instanceof TrackerError ? r.code : r.action}`));
    }
    // A dual-stack socket names the same IPv4 address as ::ffff:a.b.c.d.
    expect(t.failFrom({ ...a, address: '::ffff:127.0.0.1' }, new TrackerError('TRACKER_REFUSED', 'port unreachable'))).toBe(2);
    expect(got).toEqual(['a1:TRACKER_REFUSED', 'a2:TRACKER_REFUSED']);
    expect(t.size).toBe(1);
    expect(t.failFrom(a, new TrackerError('TRACKER_REFUSED', 'again'))).toBe(0);
  });
});
