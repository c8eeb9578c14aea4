import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP server for tests of anything that fetches: each path answers with a route that
 * can be changed between requests (a feed that gains an item), and every request is counted, so a
 * test can check that nothing was fetched twice.
 */
export type FixtureRoute =
  /** A body, with a status (200) and a Content-Type. */
  | { readonly body: string | Uint8Array; readonly status?: number; readonly type?: string; readonly headers?: Record<string, string> }
  /** A redirect to `to` (relative or absolute). */
  | { readonly redirect: string; readonly status?: number }
  /** Headers, then one byte every `everyMs`: a server too slow to finish within a timeout. */
  | { readonly drip: { readonly everyMs: number; readonly declaredBytes?: number } }
  /** `bytes` bytes of `fill`, streamed chunked (no Content-Length), or with it when `declare` is set. */
  | { readonly huge: { readonly bytes: number; readonly declare?: boolean } }
  /** Anything else: the test writes the answer. */
  | { readonly handler: (req: IncomingMessage, res: ServerResponse) => void };

export interface HttpFixtureServer {
  /** `http://127.0.0.1:PORT`. */
  readonly base: string;
  readonly port: number;
  /** `base + path`. */
  url(path: string): string;
  /** Sets (or replaces) the answer for a path (query strings are part of the path). */
  set(path: string, route: FixtureRoute): void;
  /** How many requests a path has had. */
  hits(path: string): number;
  close(): Promise<void>;
}

/** Size of each chunk of a `huge` body. */
const HUGE_CHUNK_BYTES = 64 * 1024;

/** Starts the server on 127.0.0.1, port 0, with the given routes; any other path is a 404. */
export async function startHttpFixtureServer(routes: Record<string, FixtureRoute> = {}): Promise<HttpFixtureServer> {
  const table = new Map<string, FixtureRoute>(Object.entries(routes));
  const counts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    counts.set(path, (counts.get(path) ?? 0) + 1);
    res.on('error', () => undefined);
    const route = table.get(path);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    answer(route, res, timers);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    port,
    url: (path) => `${base}${path}`,
    set: (path, route) => void table.set(path, route),
    hits: (path) => counts.get(path) ?? 0,
    close: async () => {
      for (const t of timers) clearInterval(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function answer(route: FixtureRoute, res: ServerResponse, timers: Set<NodeJS.Timeout>): void {
  if ('body' in route) {
    const body = typeof route.body === 'string' ? Buffer.from(route.body) : Buffer.from(route.body);
    res.writeHead(route.status ?? 200, { 'content-type': route.type ?? 'application/octet-stream', 'content-length': String(body.length), ...route.headers });
    res.end(body);
  } else if ('redirect' in route) {
    res.writeHead(route.status ?? 302, { location: route.redirect }).end();
  } else if ('drip' in route) {
    res.writeHead(200, { 'content-type': 'application/x-bittorrent', 'content-length': String(route.drip.declaredBytes ?? 1_000_000) });
    res.write('d');
    const t = setInterval(() => res.write('1'), route.drip.everyMs);
    timers.add(t);
    res.on('close', () => {
      clearInterval(t);
      timers.delete(t);
    });
  } else if ('huge' in route) {
    const { bytes, declare } = route.huge;
    res.writeHead(200, { 'content-type': 'application/x-bittorrent', ...(declare ? { 'content-length': String(bytes) } : {}) });
    // A bencode-looking start, so only the size check can refuse it.
    let sent = 0;
    const chunk = Buffer.alloc(HUGE_CHUNK_BYTES, 0x31);
    chunk.write('d9999999:');
    const pump = (): void => {
      while (sent < bytes && !res.destroyed) {
        const n = Math.min(HUGE_CHUNK_BYTES, bytes - sent);
        sent += n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) res.end();
    };
    pump();
  } else {
    route.handler(res.req, res);
  }
}
