import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ThrottleProxy {
  readonly port: number;
  /** Closes the listener and every piped connection. */
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy to `target` that caps the target → client direction at `rateBps` (the other
 * way is not limited). For tests that need a slow download from a peer whose own limits do not
 * apply on loopback (libtorrent exempts local peers from its rate limits).
 */
export async function startThrottleProxy(target: { host: string; port: number }, rateBps: number): Promise<ThrottleProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      // Pause long enough that the average stays at the rate.
      upstream.pause();
      setTimeout(() => upstream.resume(), (chunk.length / rateBps) * 1000);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
