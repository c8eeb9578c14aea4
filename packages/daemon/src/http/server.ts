import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { errorReply, MAX_BODY_BYTES, type DaemonHandler, type HttpResponse } from './handler.js';
import { DaemonError } from '../errors.js';

/** Connections served at once: a flood beyond it waits in the kernel's backlog rather than in memory. */
export const MAX_CONNECTIONS = 1_000;
/** A request must arrive whole within this (slow-loris). */
export const REQUEST_TIMEOUT_MS = 30_000;

function send(res: ServerResponse, r: HttpResponse): void {
  res.writeHead(r.status, { ...r.headers, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(r.body);
}

/** Reads a body up to MAX_BODY_BYTES; undefined (and a 413 sent) beyond. */
function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    const tooLarge = (): void => {
      send(res, errorReply(new DaemonError('DAEMON_TOO_LARGE', `a body larger than ${MAX_BODY_BYTES} bytes`)));
      req.destroy();
      resolve(undefined);
    };
    if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return tooLarge();
    const chunks: Buffer[] = [];
    let total = 0;
    req.on('data', (c: Buffer) => {
      total += c.length;
      if (total > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        tooLarge();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, total)));
    req.on('error', () => resolve(undefined));
  });
}

/** The handler on a Node HTTP server (the app listens it where --listen says). */
export function httpServer(handler: DaemonHandler): Server {
  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS }, (req, res) => {
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    // Refuse before reading a body from someone without the right Host or credentials.
    const refused = handler.gate({ headers });
    if (refused !== undefined) {
      send(res, refused);
      req.resume();
      return;
    }
    readBody(req, res)
      .then(async (body) => {
        if (body === undefined) return;
        send(res, await handler.handle({ method: req.method ?? 'GET', url: req.url ?? '/', headers, body }));
      })
      .catch((e: unknown) => {
        if (!res.headersSent) send(res, errorReply(e));
        else res.destroy();
      });
  });
  server.maxConnections = MAX_CONNECTIONS;
  return server;
}
