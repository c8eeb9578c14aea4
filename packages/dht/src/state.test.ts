import { encode } from '@tc/codec';
import { describe, expect, it } from 'vitest';
import { DhtError } from './errors.js';
import type { Contact } from './ids.js';
import { decodeState, encodeState, MAX_SAVED_NODES, MAX_STATE_BYTES } from './state.js';

const id = Buffer.alloc(20, 1);
const node = (i: number, family: 4 | 6 = 4): Contact => ({
  id: Buffer.alloc(20, i),
  ip: family === 4 ? `10.0.${i >> 8}.${i & 255}` : `2001:db8::${i.toString(16)}`,
  port: 1000 + i,
  family,
});

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DhtError);
    return (e as DhtError).code;
  }
  return 'no error';
}

describe('routing-table state', () => {
  it('round-trips our id and nodes of both families', () => {
    const nodes = [node(1), node(2), node(3, 6)];
    expect(decodeState(encodeState({ id, nodes }))).toEqual({ id, nodes });
  });

  it('keeps at most MAX_SAVED_NODES per family', () => {
    const many = Array.from({ length: MAX_SAVED_NODES + 50 }, (_, i) => node(i + 1));
    expect(decodeState(encodeState({ id, nodes: many })).nodes).toHaveLength(MAX_SAVED_NODES);
  });

  it('refuses anything it did not write with DHT_BAD_STATE', () => {
    const good = { id, nodes: Buffer.alloc(26), nodes6: Buffer.alloc(0), version: 1 };
    expect(code(() => decodeState(Buffer.alloc(0)))).toBe('DHT_BAD_STATE');
    expect(code(() => decodeState(Buffer.from('i1e')))).toBe('DHT_BAD_STATE');
    expect(code(() => decodeState(Buffer.from('d2:id')))).toBe('DHT_BAD_STATE');
    expect(code(() => decodeState(encode({ ...good, version: 2 })))).toBe('DHT_BAD_STATE');
    expect(code(() => decodeState(encode({ ...good, id: Buffer.alloc(19) })))).toBe('DHT_BAD_STATE');
    expect(code(() => decodeState(encode({ ...good, nodes: Buffer.alloc(27) })))).toBe('DHT_BAD_STATE');
    expect(code(() => decodeState(encode({ ...good, nodes6: 5 })))).toBe('DHT_BAD_STATE');
    expect(code(() => decodeState(Buffer.alloc(MAX_STATE_BYTES + 1, 0x64)))).toBe('DHT_BAD_STATE');
    expect(code(() => decodeState(Buffer.from('d' + 'l'.repeat(100))))).toBe('DHT_BAD_STATE');
    expect(code(() => decodeState(encode(good)))).toBe('no error');
  });
});
