import { randomBytes } from 'node:crypto';
import { decodeHolepunch, encodeHolepunch, HolepunchError, WireError } from '@tc/wire';
import { describe, expect, it } from 'vitest';
import { decideHolepunch, HOLEPUNCH_BUDGET, HOLEPUNCH_WINDOW_MS, HolepunchBudget, type HolepunchPeer } from './holepunch.js';

const peer = (host: string, port: number, listenPort?: number, supportsHolepunch = true): HolepunchPeer => ({
  address: { host, port },
  listenPort,
  supportsHolepunch,
});
const self = { host: '10.0.0.1', port: 6881 };
const isSelf = (a: { host: string; port: number }): boolean => a.host === self.host && a.port === self.port;

describe('holepunch relay decisions (BEP 55)', () => {
  const a = peer('10.0.0.2', 40001, 6882);
  const b = peer('10.0.0.3', 40002, 6883);
  const old = peer('10.0.0.4', 40003, undefined, false);

  it('relays a rendezvous for a connected peer: connect to both, with listen ports', () => {
    const out = decideHolepunch(encodeHolepunch({ type: 'rendezvous', ip: '10.0.0.3', port: 6883 }), a, [a, b, old], isSelf);
    expect(out).toEqual([
      { kind: 'send', to: b, message: { type: 'connect', ip: '10.0.0.2', port: 6882 } },
      { kind: 'send', to: 'sender', message: { type: 'connect', ip: '10.0.0.3', port: 6883 } },
    ]);
  });

  it('answers the BEP error codes', () => {
    const code = (ip: string, port: number): unknown => {
      const [r] = decideHolepunch(encodeHolepunch({ type: 'rendezvous', ip, port }), a, [a, b, old], isSelf);
      return r?.kind === 'send' && r.message.type === 'error' ? r.message.code : r;
    };
    expect(code('10.0.0.9', 1)).toBe(HolepunchError.NotConnected);
    expect(code('10.0.0.4', 40003)).toBe(HolepunchError.NoSupport);
    expect(code('10.0.0.1', 6881)).toBe(HolepunchError.NoSelf);
    expect(code('10.0.0.3', 0)).toBe(HolepunchError.NoSuchPeer);
    // A rendezvous for the sender itself is not relayed back to it.
    expect(code('10.0.0.2', 6882)).toBe(HolepunchError.NotConnected);
  });

  it('dials on connect, never ourselves or port 0; ignores errors', () => {
    expect(decideHolepunch(encodeHolepunch({ type: 'connect', ip: '::1', port: 7000 }), a, [], isSelf)).toEqual([
      { kind: 'dial', address: { host: '::1', port: 7000 } },
    ]);
    expect(decideHolepunch(encodeHolepunch({ type: 'connect', ip: '10.0.0.1', port: 6881 }), a, [], isSelf)).toEqual([]);
    expect(decideHolepunch(encodeHolepunch({ type: 'connect', ip: '10.0.0.5', port: 0 }), a, [], isSelf)).toEqual([]);
    expect(decideHolepunch(encodeHolepunch({ type: 'error', ip: '10.0.0.5', port: 1, code: 2 }), a, [], isSelf)).toEqual([]);
  });

  it('budgets what one peer can make us do', () => {
    const bud = new HolepunchBudget();
    for (let i = 0; i < HOLEPUNCH_BUDGET; i++) expect(bud.take(1000)).toBe(true);
    expect(bud.take(1000 + HOLEPUNCH_WINDOW_MS - 1)).toBe(false);
    expect(bud.take(1000 + HOLEPUNCH_WINDOW_MS)).toBe(true);
  });

  it('fuzz: random and mutated payloads give a WireError or a bounded list of actions, nothing else', () => {
    const seeds = [
      encodeHolepunch({ type: 'rendezvous', ip: '10.0.0.3', port: 6883 }),
      encodeHolepunch({ type: 'connect', ip: '::1', port: 1 }),
      encodeHolepunch({ type: 'error', ip: '10.0.0.3', port: 9, code: 4 }),
    ];
    let decoded = 0;
    for (let i = 0; i < 5000; i++) {
      let buf: Buffer;
      if (i % 2 === 0) buf = randomBytes(Math.floor(Math.random() * 30));
      else {
        buf = Buffer.from(seeds[i % seeds.length]!);
        const flips = 1 + Math.floor(Math.random() * 3);
        for (let k = 0; k < flips; k++) buf[Math.floor(Math.random() * buf.length)] = Math.floor(Math.random() * 256);
        if (i % 7 === 0) buf = buf.subarray(0, Math.floor(Math.random() * buf.length));
      }
      try {
        const out = decideHolepunch(buf, a, [a, b, old], isSelf);
        decodeHolepunch(buf);
        decoded++;
        expect(out.length).toBeLessThanOrEqual(2);
      } catch (e) {
        expect(e).toBeInstanceOf(WireError);
      }
    }
    expect(decoded).toBeGreaterThan(0);
  });
});

describe('simultaneous open (both sides dial after a holepunch connect)', () => {
  it('both sides keep the connection dialled by the lower peer id', async () => {
    const { keepNewConnection } = await import('./peer-registry.js');
    const lo = Buffer.alloc(20, 1);
    const hi = Buffer.alloc(20, 2);
    // Side lo: existing incoming (dialled by hi), new outgoing (dialled by lo): keep the new one.
    expect(keepNewConnection(true, false, lo, hi)).toBe(true);
    // Side hi: existing incoming (dialled by lo), new outgoing (dialled by hi): keep the existing one.
    expect(keepNewConnection(true, false, hi, lo)).toBe(false);
    expect(keepNewConnection(false, true, hi, lo)).toBe(true);
    expect(keepNewConnection(false, true, lo, hi)).toBe(false);
    // The same side dialled twice: a plain duplicate.
    expect(keepNewConnection(true, true, lo, hi)).toBe(false);
  });
});
