import { describe, expect, it } from 'vitest';
import {
  acceptPolicy,
  dialEncrypted,
  dialPlan,
  MAX_REMEMBERED_PEERS,
  mseMethods,
  parseEncryptionMode,
  parseTransportMode,
  PeerMemory,
  retryPlain,
  UTP_HEAD_START_MS,
} from './policy.js';

describe('dial plan', () => {
  it('both: uTP first, TCP after the head start', () => {
    expect(dialPlan('both', true)).toEqual([
      { transport: 'utp', delayMs: 0 },
      { transport: 'tcp', delayMs: UTP_HEAD_START_MS },
    ]);
  });
  it('both: what worked last goes first, the other after the head start', () => {
    expect(dialPlan('both', true, 'tcp')).toEqual([
      { transport: 'tcp', delayMs: 0 },
      { transport: 'utp', delayMs: UTP_HEAD_START_MS },
    ]);
    expect(dialPlan('both', true, 'utp')).toEqual(dialPlan('both', true));
  });
  it('without a UDP socket of the family: TCP only, and nothing for utp', () => {
    expect(dialPlan('both', false)).toEqual([{ transport: 'tcp', delayMs: 0 }]);
    expect(dialPlan('utp', false)).toEqual([]);
  });
  it('tcp and utp modes dial one transport whatever was remembered', () => {
    expect(dialPlan('tcp', true, 'utp')).toEqual([{ transport: 'tcp', delayMs: 0 }]);
    expect(dialPlan('utp', true, 'tcp')).toEqual([{ transport: 'utp', delayMs: 0 }]);
  });
});

describe('encryption policy', () => {
  it('dials encrypted under prefer (until the peer refused) and require', () => {
    expect(dialEncrypted('prefer', false)).toBe(true);
    expect(dialEncrypted('prefer', true)).toBe(false);
    expect(dialEncrypted('require', true)).toBe(true);
    expect(dialEncrypted('allow', false)).toBe(false);
    expect(dialEncrypted('off', false)).toBe(false);
  });
  it('retries in plaintext only under prefer, after an encrypted handshake failed', () => {
    expect(retryPlain('prefer', true, true)).toBe(true);
    expect(retryPlain('prefer', false, true)).toBe(false);
    expect(retryPlain('prefer', true, false)).toBe(false);
    expect(retryPlain('require', true, true)).toBe(false);
    expect(retryPlain('allow', true, true)).toBe(false);
  });
  it('accepts both except under require (no plaintext) and off (no MSE)', () => {
    expect(acceptPolicy('prefer')).toEqual({ plaintext: true, mse: true });
    expect(acceptPolicy('allow')).toEqual({ plaintext: true, mse: true });
    expect(acceptPolicy('require')).toEqual({ plaintext: false, mse: true });
    expect(acceptPolicy('off')).toEqual({ plaintext: true, mse: false });
  });
  it('offers both methods; selects RC4 only when encryption is required', () => {
    expect(mseMethods('prefer')).toEqual({ methods: ['rc4', 'plaintext'], prefer: 'plaintext' });
    expect(mseMethods('require').prefer).toBe('rc4');
  });
  it('parses the flag values and nothing else', () => {
    expect(parseTransportMode('utp')).toBe('utp');
    expect(parseTransportMode('UTP')).toBeUndefined();
    expect(parseEncryptionMode('require')).toBe('require');
    expect(parseEncryptionMode('forced')).toBeUndefined();
  });
});

describe('peer memory', () => {
  it('is bounded, evicting the oldest entry', () => {
    const m = new PeerMemory<number>(3);
    for (let i = 0; i < 5; i++) m.set(`p${i}`, i);
    expect(m.size).toBe(3);
    expect(m.get('p0')).toBeUndefined();
    expect(m.get('p4')).toBe(4);
    m.set('p2', 9);
    m.set('p5', 5);
    expect(m.get('p2')).toBe(9);
    expect(m.get('p3')).toBeUndefined();
    expect(MAX_REMEMBERED_PEERS).toBeGreaterThan(0);
  });
});
