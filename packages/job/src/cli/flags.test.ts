import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandParser, ExitCode, parseCommand, captureIo, UsageError } from '@tc/cli';
import { openSession, readJobFlags, withJobFlags } from './flags.js';

async function parse(argv: string[], env: Record<string, string> = {}): Promise<ReturnType<typeof readJobFlags>> {
  const args = await parseCommand(withJobFlags(commandParser('tc-x', '$0'), 'seed'), argv, captureIo());
  return readJobFlags(args!, '/', env);
}

let held: Server;
let heldPort = 0;
beforeAll(async () => {
  held = createServer();
  await new Promise<void>((r) => held.listen(0, '127.0.0.1', r));
  heldPort = (held.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((r) => held.close(r));
});

describe('the listen port: --port > TC_PORT > 6881, the default falling back to a free port (issue 17)', () => {
  it('reads the flag, the variable, then the default; only the default may fall back', async () => {
    expect(await parse([])).toMatchObject({ port: 6881, portFallback: true });
    expect(await parse([], { TC_PORT: '51413' })).toMatchObject({ port: 51413, portFallback: false });
    expect(await parse(['--port', '7000'], { TC_PORT: '51413' })).toMatchObject({ port: 7000, portFallback: false });
    expect(await parse(['--port', '0'])).toMatchObject({ port: 0, portFallback: false });
    await expect(parse([], { TC_PORT: 'abc' })).rejects.toThrow(UsageError);
    await expect(parse(['--port', '70000'])).rejects.toThrow(/--port: 70000 is not a port/);
  });

  it('the default port taken: listens on a free one and says so; a chosen port taken is a network error (exit 4)', async () => {
    const moved: [number, number][] = [];
    const s = await openSession({ port: heldPort, portFallback: true, listen: '127.0.0.1' }, { onPortFallback: (wanted, got) => moved.push([wanted, got]) });
    try {
      expect(s.port).not.toBe(heldPort);
      expect(s.port).toBeGreaterThan(0);
      expect(moved).toEqual([[heldPort, s.port]]);
    } finally {
      await s.close();
    }
    // Only its UDP port taken: no DHT or uTP there, so the default port gives way too.
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const udpPort = udp.address().port;
    try {
      const u = await openSession({ port: udpPort, portFallback: true, listen: '127.0.0.1' }, { onPortFallback: (wanted, got) => moved.push([wanted, got]) });
      try {
        expect(u.port).not.toBe(udpPort);
        expect(u.udp).toBeDefined();
        expect(moved.at(-1)).toEqual([udpPort, u.port]);
      } finally {
        await u.close();
      }
    } finally {
      await new Promise<void>((r) => udp.close(() => r()));
    }
    const e = await openSession({ port: heldPort, portFallback: false, listen: '127.0.0.1' }).catch((x: unknown) => x);
    expect(e).toMatchObject({ exitCode: ExitCode.NETWORK, message: expect.stringMatching(new RegExp(`^cannot listen on port ${heldPort}: .*EADDRINUSE`)) });
  });
});
