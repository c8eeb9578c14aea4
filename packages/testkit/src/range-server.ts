import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';

/**
 * How a Range server misbehaves (web seed tests, BEP 19): `ok` answers Range requests with 206 as
 * it should; `no-range` ignores Range and sends the whole file with 200; `wrong-bytes` answers 206
 * with the right headers and corrupted bytes; `stall` never answers; `redirect-loop` redirects to
 * itself forever; `503` is always busy.
 */
export type RangeFault = 'ok' | 'no-range' | 'wrong-bytes' | 'stall' | 'redirect-loop' | '503';
export const RANGE_FAULTS: readonly RangeFault[] = ['ok', 'no-range', 'wrong-bytes', 'stall', 'redirect-loop', '503'];

export interface RangeServer {
  /** `http://127.0.0.1:PORT/`: a web seed base URL for a folder holding the torrent's files. */
  readonly base: string;
  readonly port: number;
  fault: RangeFault;
  /** Milliseconds each request waits before its answer (a slow mirror beside fast peers); 0 by default. */
  delayMs: number;
  /** Requests answered (or held, when stalling). */
  readonly requests: number;
  /** Payload bytes sent. */
  readonly bytesSent: number;
  close(): Promise<void>;
}

/** `bytes=A-B` or `bytes=A-`: a single range, or undefined (no header, several ranges, unreadable). */
function parseRange(h: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (h === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(h.trim());
  if (m === null) return undefined;
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/**
 * A loopback HTTP server of the files under `root` (paths percent-decoded, kept inside `root`) with
 * single-range support, streaming from disk (a 1 GiB file costs no memory), and the fault modes of
 * RangeFault, switchable while it runs.
 */
export async function startRangeServer(root: string, fault: RangeFault = 'ok'): Promise<RangeServer> {
  const top = resolve(root);
  const sockets = new Set<Socket>();
  const state = { fault, delayMs: 0, requests: 0, bytesSent: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    state.requests++;
    res.on('error', () => undefined);
    const go = (): void =>
      void handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    if (state.delayMs <= 0) return go();
    const t = setTimeout(() => {
      timers.delete(t);
      go();
    }, state.delayMs);
    timers.add(t);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    switch (state.fault) {
      case 'stall':
        return; // the socket stays open; nothing is ever written
      case '503':
        res.writeHead(503, { 'retry-after': '1', 'content-type': 'text/plain' }).end('busy');
        return;
      case 'redirect-loop': {
        const n = Number(url.searchParams.get('hop') ?? '0') + 1;
        res.writeHead(302, { location: `${url.pathname}?hop=${n}` }).end();
        return;
      }
      default:
    }
    let path: string;
    try {
      path = resolve(
        join(
          top,
          ...url.pathname
            .split('/')
            .filter((s) => s !== '')
            .map(decodeURIComponent),
        ),
      );
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (path !== top && !path.startsWith(top + sep)) {
      res.writeHead(403).end();
      return;
    }
    const st = await stat(path).catch(() => undefined);
    if (st === undefined || !st.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const size = st.size;
    const range = state.fault === 'no-range' ? undefined : parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    const { start, end } = range ?? { start: 0, end: size - 1 };
    const length = size === 0 ? 0 : end - start + 1;
    res.writeHead(range === undefined ? 200 : 206, {
      'content-length': String(length),
      'accept-ranges': state.fault === 'no-range' ? 'none' : 'bytes',
      'content-type': 'application/octet-stream',
      ...(range !== undefined ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (length === 0 || req.method === 'HEAD') {
      res.end();
      return;
    }
    const corrupt = state.fault === 'wrong-bytes';
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        state.bytesSent += chunk.length;
        if (corrupt) {
          const c = Buffer.from(chunk);
          for (let i = 0; i < c.length; i += 997) c[i] = c[i]! ^ 0xff;
          done(null, c);
        } else done(null, chunk);
      },
    });
    createReadStream(path, { start, end, highWaterMark: 256 * 1024 })
      .on('error', () => res.destroy())
      .pipe(count)
      .pipe(res);
  }

  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}/`,
    port,
    get fault() {
      return state.fault;
    },
    set fault(f: RangeFault) {
      state.fault = f;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    get requests() {
      return state.requests;
    },
    get bytesSent() {
      return state.bytesSent;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
