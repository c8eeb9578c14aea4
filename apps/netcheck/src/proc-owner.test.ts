import { describe, expect, it } from 'vitest';
import { describeProgram, findPortOwner, parseProcNet, type ProcFs } from './proc-owner.js';

// Two real /proc/net/tcp lines: 127.0.0.1:6881 listening (0A) with inode 4242, and a connection.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1AE1 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:D431 0100007F:1AE1 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0000000000000000 20 4 30 10 -1
`;

function fakeProc(files: Record<string, string>, dirs: Record<string, string[]>, links: Record<string, string>): ProcFs {
  const miss = (p: string): Error => Object.assign(new Error(p), { code: 'ENOENT' });
  return {
    readFile: async (p) => files[p] ?? Promise.reject(miss(p)),
    readdir: async (p) => dirs[p] ?? Promise.reject(miss(p)),
    readlink: async (p) => links[p] ?? Promise.reject(miss(p)),
  };
}

describe('port owner from /proc', () => {
  it('parses listening sockets for a port', () => {
    expect(parseProcNet(TCP, 6881, '0A')).toEqual([{ inode: '4242', uid: 1000 }]);
    expect(parseProcNet(TCP, 6882, '0A')).toEqual([]);
    expect(parseProcNet('', 6881, '0A')).toEqual([]);
  });

  it('names the process holding the socket, or falls back to its uid', async () => {
    const fs = fakeProc(
      { '/proc/net/tcp': TCP, '/proc/812/comm': 'transmission-da\n' },
      { '/proc': ['self', '1', '812'], '/proc/1/fd': ['0'], '/proc/812/fd': ['0', '7'] },
      { '/proc/1/fd/0': '/dev/null', '/proc/812/fd/7': 'socket:[4242]' },
    );
    expect(await findPortOwner(fs, 'tcp', 6881)).toBe('Transmission (another BitTorrent client, "transmission-da"), pid 812');
    const hidden = fakeProc({ '/proc/net/tcp': TCP }, { '/proc': ['812'] }, {});
    expect(await findPortOwner(hidden, 'tcp', 6881)).toBe('a process of uid 1000');
    expect(await findPortOwner(hidden, 'udp', 6881)).toBeUndefined();
  });

  it('describes programs', () => {
    expect(describeProgram('node')).toBe('"node"');
    expect(describeProgram('qbittorrent-nox')).toMatch(/^qBittorrent/);
  });
});
