import { freeTcpUdpPort } from './opentracker.js';

/**
 * The `bittorrent-tracker` npm server (webtorrent project) on loopback: HTTP on 127.0.0.1, UDP on
 * 127.0.0.1 and ::1, one port number for all. The test passes the package's `Server` class:
 * testkit is not built and does not depend on it.
 */

/** The part of bittorrent-tracker's Server this helper uses. */
export interface BtTrackerServer {
  listen(port: number, hostname: { http: string; udp: string; udp6: string }, cb: () => void): void;
  close(cb: () => void): void;
  on(event: 'error' | 'warning', listener: (err: Error) => void): unknown;
  removeListener(event: 'error', listener: (err: Error) => void): unknown;
}

export type BtTrackerServerClass = new (opts: { http: boolean; udp: boolean; ws: boolean; stats: boolean; interval?: number }) => BtTrackerServer;

export interface RunningBtTracker {
  readonly port: number;
  readonly httpUrl: string;
  readonly udpUrl: string;
  readonly udp6Url: string;
  readonly server: BtTrackerServer;
  stop(): Promise<void>;
}

/** Starts the server; retried on a port clash (the free port is found by binding 0, then released). */
export async function startBtTracker(Server: BtTrackerServerClass): Promise<RunningBtTracker> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freeTcpUdpPort();
    const server = new Server({ http: true, udp: true, ws: false, stats: false });
    // Client misbehaviour is reported as 'warning'; the negative tests cause some on purpose.
    server.on('warning', () => undefined);
    try {
      await new Promise<void>((resolve, reject) => {
        server.on('error', reject);
        server.listen(port, { http: '127.0.0.1', udp: '127.0.0.1', udp6: '::1' }, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
      // Errors after start (e.g. a send to a vanished client) must not crash the test process.
      server.on('error', () => undefined);
      return {
        port,
        httpUrl: `http://127.0.0.1:${port}/announce`,
        udpUrl: `udp://127.0.0.1:${port}/announce`,
        udp6Url: `udp://[::1]:${port}/announce`,
        server,
        stop: () => new Promise<void>((r) => server.close(() => r())),
      };
    } catch (e) {
      lastErr = e;
      await new Promise<void>((r) => server.close(() => r()));
    }
  }
  throw new Error(`bittorrent-tracker did not start: ${String(lastErr)}`);
}
