import { formatIp, parseIp } from '@tc/codec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DhtError } from './errors.js';
import type { Contact, PeerAddress } from './ids.js';
import { decodeKrpc, encodeError, encodeQuery, encodeResponse, MAX_KRPC_BYTES, MAX_VALUES_PER_REPLY, type Query } from './krpc.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function expectCode(f: () => unknown, code: string, field?: string): DhtError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DhtError);
    const d = e as DhtError;
    expect(d.code).toBe(code);
    if (field !== undefined) expect(d.field).toBe(field);
    return d;
  }
  throw new Error('expected a DhtError');
}

describe('BEP 5 example packets', () => {
  it('ping query and response', () => {
    const q = decodeKrpc(b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe'));
    expect(q).toMatchObject({ type: 'query', t: b('aa'), query: { method: 'ping', id: b('abcdefghij0123456789') }, readOnly: false });
    expect(encodeQuery(b('aa'), { method: 'ping', id: b('abcdefghij0123456789') }).toString('latin1')).toBe(
      'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe',
    );
    const r = decodeKrpc(b('d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re'));
    expect(r).toMatchObject({ type: 'response', t: b('aa'), r: { id: b('mnopqrstuvwxyz123456') } });
    expect(encodeResponse(b('aa'), { id: b('mnopqrstuvwxyz123456') }).toString('latin1')).toBe('d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re');
  });

  it('find_node, get_peers and announce_peer queries', () => {
    expect(decodeKrpc(b('d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe'))).toMatchObject({
      query: { method: 'find_node', target: b('mnopqrstuvwxyz123456') },
    });
    expect(decodeKrpc(b('d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe'))).toMatchObject({
      query: { method: 'get_peers', infoHash: b('mnopqrstuvwxyz123456') },
    });
    const ann =
      'd1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe';
    expect(decodeKrpc(b(ann))).toMatchObject({ query: { method: 'announce_peer', port: 6881, token: b('aoeusnth'), impliedPort: true } });
  });

  it('get_peers responses with values and with nodes', () => {
    const withValues = decodeKrpc(b('d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re'));
    expect(withValues).toMatchObject({ type: 'response', r: { token: b('aoeusnth') } });
    const values = withValues.type === 'response' ? withValues.r.values : undefined;
    expect(values).toEqual([
      { ip: '97.120.106.101', port: 0x2e75, family: 4 },
      { ip: '105.100.104.116', port: 0x6e6d, family: 4 },
    ]);
  });

  it('error packet', () => {
    expect(decodeKrpc(b('d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee'))).toEqual({
      type: 'error',
      t: b('aa'),
      code: 201,
      message: 'A Generic Error Ocurred',
    });
    expect(encodeError(b('aa'), 201, 'A Generic Error Ocurred').toString('latin1')).toBe('d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee');
  });
});

const id = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((u) => Buffer.from(u));
const tid = fc.uint8Array({ minLength: 1, maxLength: 16 }).map((u) => Buffer.from(u));
const port = fc.integer({ min: 1, max: 65535 });
const v4 = fc.ipV4();
// Canonical text (RFC 5952), the form addresses come back in.
const v6 = fc.ipV6().map((s) => formatIp(parseIp(s)!)!);
const contact4 = fc.record({ id, ip: v4, port, family: fc.constant(4 as const) });
const contact6 = fc.record({ id, ip: v6, port, family: fc.constant(6 as const) });

describe('round trips (property)', () => {
  const query: fc.Arbitrary<Query> = fc.oneof(
    fc.record({ method: fc.constant('ping' as const), id }),
    fc.record({ method: fc.constant('find_node' as const), id, target: id }),
    fc.record({ method: fc.constant('get_peers' as const), id, infoHash: id, want: fc.constantFrom([4, 6] as const, [4] as const, [6] as const) }),
    fc.record({
      method: fc.constant('announce_peer' as const),
      id,
      infoHash: id,
      port,
      token: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((u) => Buffer.from(u)),
      impliedPort: fc.boolean(),
    }),
  );

  it('queries', () => {
    fc.assert(
      fc.property(tid, query, fc.boolean(), (t, q, ro) => {
        const m = decodeKrpc(encodeQuery(t, q, { readOnly: ro }));
        expect(m).toEqual({ type: 'query', t, query: q, readOnly: ro });
      }),
    );
  });

  it('responses', () => {
    fc.assert(
      fc.property(
        tid,
        id,
        fc.array(contact4, { maxLength: 8 }),
        fc.array(contact6, { maxLength: 8 }),
        fc.array(fc.oneof(fc.record({ ip: v4, port, family: fc.constant(4 as const) }), fc.record({ ip: v6, port, family: fc.constant(6 as const) })), {
          maxLength: 50,
        }),
        (t, rid, nodes: Contact[], nodes6: Contact[], values: PeerAddress[]) => {
          const token = Buffer.from('tok');
          const m = decodeKrpc(encodeResponse(t, { id: rid, nodes, nodes6, values, token }, { requester: { ip: '10.0.0.1', port: 6881 } }));
          expect(m).toEqual({ type: 'response', t, r: { id: rid, nodes, nodes6, values, token }, ip: { ip: '10.0.0.1', port: 6881 }, skipped: 0 });
        },
      ),
    );
  });
});

describe('hostile and malformed packets', () => {
  const ping = (a: string, extra = ''): Buffer => b(`d1:ad${a}e1:q4:ping1:t2:aa1:y1:q${extra}e`);

  it('refuses what is not a dictionary, bad bencode and oversized datagrams', () => {
    expectCode(() => decodeKrpc(b('le')), 'DHT_BAD_MESSAGE');
    expectCode(() => decodeKrpc(b('d1:t2:aa')), 'DHT_BAD_MESSAGE');
    expectCode(() => decodeKrpc(b('')), 'DHT_BAD_MESSAGE');
    expectCode(() => decodeKrpc(Buffer.alloc(MAX_KRPC_BYTES + 1, 0x64)), 'DHT_TOO_LARGE');
    expectCode(() => decodeKrpc(b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qeXX')), 'DHT_BAD_MESSAGE');
    expectCode(() => decodeKrpc(b('d'.repeat(50) + 'e'.repeat(50))), 'DHT_BAD_MESSAGE');
  });

  it('checks t and y', () => {
    expectCode(() => decodeKrpc(b('d1:y1:qe')), 'DHT_BAD_TRANSACTION_ID');
    expectCode(() => decodeKrpc(b('d1:t0:1:y1:qe')), 'DHT_BAD_TRANSACTION_ID');
    expectCode(() => decodeKrpc(b(`d1:t17:${'x'.repeat(17)}1:y1:qe`)), 'DHT_BAD_TRANSACTION_ID');
    expectCode(() => decodeKrpc(b('d1:t2:aa1:y1:ze')), 'DHT_BAD_TYPE');
    expectCode(() => decodeKrpc(b('d1:t2:aae')), 'DHT_BAD_TYPE');
  });

  it('names the field at fault and keeps the transaction id of a bad query (for error 203)', () => {
    const e = expectCode(() => decodeKrpc(ping('2:id3:abc')), 'DHT_BAD_FIELD', 'a.id');
    expect(e.transactionId).toEqual(b('aa'));
    expect(e.isQuery).toBe(true);
    expectCode(() => decodeKrpc(ping('2:idi5e')), 'DHT_BAD_FIELD', 'a.id');
    expectCode(() => decodeKrpc(b('d1:q4:ping1:t2:aa1:y1:qe')), 'DHT_BAD_FIELD', 'a');
    expectCode(() => decodeKrpc(b('d1:ad2:id20:abcdefghij0123456789e1:t2:aa1:y1:qe')), 'DHT_BAD_FIELD', 'q');
    const id20 = '2:id20:abcdefghij0123456789';
    expectCode(() => decodeKrpc(b(`d1:ad${id20}6:target3:abce1:q9:find_node1:t2:aa1:y1:qe`)), 'DHT_BAD_FIELD', 'a.target');
    expectCode(
      () => decodeKrpc(b(`d1:ad${id20}9:info_hash20:mnopqrstuvwxyz1234564:porti0e5:token1:xe1:q13:announce_peer1:t2:aa1:y1:qe`)),
      'DHT_BAD_FIELD',
      'a.port',
    );
    expectCode(
      () => decodeKrpc(b(`d1:ad${id20}9:info_hash20:mnopqrstuvwxyz1234564:porti70000e5:token1:xe1:q13:announce_peer1:t2:aa1:y1:qe`)),
      'DHT_BAD_FIELD',
      'a.port',
    );
    expectCode(
      () => decodeKrpc(b(`d1:ad${id20}9:info_hash20:mnopqrstuvwxyz1234564:porti80e5:token65:${'x'.repeat(65)}e1:q13:announce_peer1:t2:aa1:y1:qe`)),
      'DHT_BAD_FIELD',
      'a.token',
    );
  });

  it('keeps unknown methods apart (answered with 204), and reads ro', () => {
    const m = decodeKrpc(b('d1:ad2:id20:abcdefghij0123456789e1:q6:sample1:t2:aa1:y1:qe'));
    expect(m).toMatchObject({ type: 'query', unknownMethod: 'sample', query: undefined });
    expect(decodeKrpc(ping('2:id20:abcdefghij0123456789', '2:roi1e'))).toMatchObject({ readOnly: true });
  });

  it('keys named __proto__ and unsorted keys do no harm', () => {
    const m = decodeKrpc(b('d1:t2:aa1:y1:q1:q4:ping1:ad2:id20:abcdefghij01234567899:__proto__d1:xi1eeee'));
    expect(m).toMatchObject({ query: { method: 'ping' } });
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });

  it('refuses ragged node lists, skips port-0 entries and caps values', () => {
    const id20 = 'abcdefghij0123456789';
    expectCode(() => decodeKrpc(b(`d1:rd2:id20:${id20}5:nodes25:${'x'.repeat(25)}e1:t2:aa1:y1:re`)), 'DHT_BAD_FIELD', 'r.nodes');
    const node0 = `${id20}\x01\x02\x03\x04\x00\x00`;
    const m = decodeKrpc(b(`d1:rd2:id20:${id20}5:nodes26:${node0}e1:t2:aa1:y1:re`));
    expect(m).toMatchObject({ r: { nodes: [] }, skipped: 1 });
    const many = Array.from({ length: 600 }, () => '6:\x01\x02\x03\x04\x1a\xe1').join('');
    const big = decodeKrpc(b(`d1:rd2:id20:${id20}6:valuesl${many}ee1:t2:aa1:y1:re`));
    expect(big.type === 'response' && big.r.values?.length).toBe(MAX_VALUES_PER_REPLY);
    expect(big.type === 'response' && big.skipped).toBe(600 - MAX_VALUES_PER_REPLY);
    const odd = decodeKrpc(b(`d1:rd2:id20:${id20}6:valuesl5:abcde6:\x01\x02\x03\x04\x00\x00i5eee1:t2:aa1:y1:re`));
    expect(odd).toMatchObject({ r: { values: [] }, skipped: 3 });
  });

  it('ignores a malformed BEP 42 ip field and an overlong version', () => {
    const m = decodeKrpc(b(`d2:ip3:abc1:rd2:id20:abcdefghij0123456789e1:t2:aa1:v20:${'v'.repeat(20)}1:y1:re`));
    expect(m).toEqual({ type: 'response', t: b('aa'), r: { id: b('abcdefghij0123456789') }, skipped: 0 });
  });

  it('encoders refuse out-of-range arguments', () => {
    expectCode(() => encodeQuery(Buffer.alloc(0), { method: 'ping', id: Buffer.alloc(20) }), 'DHT_BAD_ARGUMENT');
    const ann = { method: 'announce_peer' as const, id: Buffer.alloc(20), infoHash: Buffer.alloc(20), token: b('x'), impliedPort: false };
    expectCode(() => encodeQuery(b('aa'), { ...ann, port: 0 }), 'DHT_BAD_ARGUMENT');
    expectCode(() => encodeResponse(b('aa'), { id: Buffer.alloc(20), values: [{ ip: 'nope', port: 1, family: 4 }] }), 'DHT_BAD_ARGUMENT');
    expectCode(() => encodeResponse(b('aa'), { id: Buffer.alloc(20), nodes: [{ id: Buffer.alloc(20), ip: '::1', port: 1, family: 4 }] }), 'DHT_BAD_ARGUMENT');
  });
});
