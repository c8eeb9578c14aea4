import { captureIo } from '@tc/cli';
import { describe, expect, it } from 'vitest';
import { parseDaemonArgs, parseListen } from '../src/args.js';

describe('tc-daemon arguments', () => {
  it('reads --listen as ADDRESS:PORT', () => {
    expect(parseListen('127.0.0.1:9091')).toEqual({ host: '127.0.0.1', port: 9091 });
    expect(parseListen('[::1]:9091')).toEqual({ host: '::1', port: 9091 });
    expect(parseListen('9091')).toEqual({ host: '127.0.0.1', port: 9091 });
    for (const bad of ['example.com:9091', '127.0.0.1:99999', '127.0.0.1', ':', '::1:9091']) expect(() => parseListen(bad), bad).toThrow(/--listen/);
  });

  it('defaults to loopback, a state folder under XDG_STATE_HOME, and checks --auth', async () => {
    const io = captureIo({ env: { XDG_STATE_HOME: '/var/state', TC_PORT: '' }, cwd: '/work' });
    const a = await parseDaemonArgs([], io);
    expect(a).toMatchObject({ listenHost: '127.0.0.1', listenPort: 9091, state: '/var/state/tc/daemon', auth: undefined, port: 51413 });
    expect(await parseDaemonArgs(['--download-root', 'a', '--download-root', '/b', '--auth', 'u:p'], io)).toMatchObject({
      roots: ['/work/a', '/b'],
      auth: 'u:p',
    });
    await expect(parseDaemonArgs(['--auth', 'nopassword'], io)).rejects.toThrow(/user:password/);
    await expect(parseDaemonArgs(['extra'], io)).rejects.toThrow(/positional/);
  });
});
