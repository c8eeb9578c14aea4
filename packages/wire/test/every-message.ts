import type { Message } from '../src/messages.js';

/** One of every message, with values at the edges of their fields. */
export const EVERY_MESSAGE: Message[] = [
  { type: 'keep-alive' },
  { type: 'choke' },
  { type: 'unchoke' },
  { type: 'interested' },
  { type: 'not-interested' },
  { type: 'have', index: 0 },
  { type: 'have', index: 27 },
  { type: 'bitfield', bytes: Buffer.from([0b1010_0000, 0, 0xff, 0b1111_0000]) },
  { type: 'request', index: 3, begin: 16384, length: 16384 },
  { type: 'piece', index: 7, begin: 32768, block: Buffer.from('hello, block') },
  { type: 'piece', index: 0, begin: 0, block: Buffer.alloc(0) },
  { type: 'cancel', index: 3, begin: 0xffff_ffff, length: 1 },
  { type: 'port', port: 6881 },
  { type: 'have-all' },
  { type: 'have-none' },
  { type: 'suggest', index: 5 },
  { type: 'reject', index: 1, begin: 2, length: 3 },
  { type: 'allowed-fast', index: 42 },
  { type: 'extended', id: 0, payload: Buffer.from('d1:md6:ut_pexi1eee') },
  { type: 'extended', id: 3, payload: Buffer.from([1, 2, 3]) },
  { type: 'unknown', id: 21, payload: Buffer.from([9, 9]) },
];
