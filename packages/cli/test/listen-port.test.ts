import { describe, expect, it } from 'vitest';
import { DEFAULT_LISTEN_PORT, listenPort, UsageError } from '../src/index.js';

describe('listenPort: --port > TC_PORT > 6881 (issue 17)', () => {
  it('takes the flag, then TC_PORT, then the default, and says which was the default', () => {
    expect(DEFAULT_LISTEN_PORT).toBe(6881);
    expect(listenPort(undefined, {}, { allowZero: true })).toEqual({ port: 6881, isDefault: true });
    expect(listenPort(undefined, { TC_PORT: '' }, { allowZero: true })).toEqual({ port: 6881, isDefault: true });
    expect(listenPort(undefined, { TC_PORT: '51413' }, { allowZero: true })).toEqual({ port: 51413, isDefault: false });
    expect(listenPort(7000, { TC_PORT: '51413' }, { allowZero: true })).toEqual({ port: 7000, isDefault: false });
    expect(listenPort(0, {}, { allowZero: true })).toEqual({ port: 0, isDefault: false });
  });

  it('a bad value is a usage error naming where it came from (a bad env value is never ignored)', () => {
    expect(() => listenPort(undefined, { TC_PORT: 'abc' }, { allowZero: true })).toThrow(UsageError);
    expect(() => listenPort(undefined, { TC_PORT: 'abc' }, { allowZero: true })).toThrow(/^TC_PORT: abc is not a port \(0-65535\)$/);
    expect(() => listenPort(70000, {}, { allowZero: true })).toThrow(/^--port: 70000 is not a port \(0-65535\)$/);
    expect(() => listenPort(0, {}, { allowZero: false })).toThrow(/^--port: 0 is not a port \(1-65535\)$/);
    expect(() => listenPort(undefined, { TC_PORT: '1.5' }, { allowZero: false })).toThrow(/^TC_PORT: 1\.5 is not a port \(1-65535\)$/);
  });
});
