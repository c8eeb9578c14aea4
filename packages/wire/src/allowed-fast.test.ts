import { describe, expect, it } from 'vitest';
import { allowedFastSet } from './allowed-fast.js';

describe('allowedFastSet (BEP 6)', () => {
  const infoHash = Buffer.alloc(20, 0xaa);

  it('matches the example vectors published in BEP 6', () => {
    expect(allowedFastSet(infoHash, '80.4.4.200', 1313, 7)).toEqual([1059, 431, 808, 1217, 287, 376, 1188]);
    expect(allowedFastSet(infoHash, '80.4.4.200', 1313, 9)).toEqual([1059, 431, 808, 1217, 287, 376, 1188, 353, 508]);
  });

  it('uses only the top three octets of the address', () => {
    expect(allowedFastSet(infoHash, '80.4.4.1', 1313, 7)).toEqual(allowedFastSet(infoHash, '80.4.4.200', 1313, 7));
  });

  it('stops at the piece count instead of looping forever', () => {
    expect(allowedFastSet(infoHash, '10.0.0.1', 3, 10).sort()).toEqual([0, 1, 2]);
    expect(allowedFastSet(infoHash, '10.0.0.1', 0, 10)).toEqual([]);
    expect(allowedFastSet(infoHash, '::1', 100, 10)).toEqual([]);
  });
});
