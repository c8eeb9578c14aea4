import { describe, expect, it } from 'vitest';
import { isPrivateHost } from './address.js';

describe('isPrivateHost', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.0.1',
    '169.254.1.1',
    '0.0.0.0',
    'localhost',
    '[::1]',
    '::1',
    'fd00::1',
    'fe80::1',
    '::ffff:127.0.0.1',
    '100.64.0.1',
    'localhost.',
    'LOCALHOST.',
    'a.localhost.',
  ])('%s is private', (h) => expect(isPrivateHost(h)).toBe(true));
  it.each(['8.8.8.8', '172.32.0.1', 'tracker.example.org', '2001:db8::1', '::ffff:8.8.8.8'])('%s is public', (h) => expect(isPrivateHost(h)).toBe(false));
});
