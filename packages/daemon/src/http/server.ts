import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { DaemonError } from '../errors.js';
import { torrentView } from './api.js';
import { errorReply, json, MAX_BODY_BYTES, type DaemonHandler, type HttpResponse } from './handler.js';
import { FILE_STREAM_PATH, fileStreamRoute } from './stream.js';

/** Event streams open at once (each page holds one). */
export const MAX_EVENT_STREAMS = 64;
/** Least time between two list events on one stream: progress ticks of many torrents coalesce. */
export const EVENT_MIN_INTERVAL_MS = 250;
/** A comment line this often keeps proxies from closing an idle stream. */
export const EVENT_KEEPALIVE_MS = 15_000;

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

/**
 * `GET /api/events`: server-sent events. `torrents` carries the whole list (the JSON API's views)
 * at once and after changes, at most every EVENT_MIN_INTERVAL_MS.
 */
function eventStream(handler: DaemonHandler, req: IncomingMessage, res: ServerResponse, open: Set<ServerResponse>): void {
  if (open.size >= MAX_EVENT_STREAMS) return send(res, json(503, { error: { code: 'DAEMON_BUSY', message: 'too many event streams' } }));
  open.add(res);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  const reg = handler.registry;
  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  const push = (): void => {
    timer = undefined;
    last = Date.now();
    const body = JSON.stringify({ schema: 1, torrents: reg.list().map((e) => torrentView(e)) }).replace(/[\u2028\u2029]/g, ' ');
    res.write(`event: torrents\ndata: ${body}\n\n`);
  };
  const onChange = (): void => {
    if (timer === undefined) timer = setTimeout(push, Math.max(0, last + EVENT_MIN_INTERVAL_MS - Date.now()));
  };
  const keepalive = setInterval(() => res.write(':\n\n'), EVENT_KEEPALIVE_MS);
  reg.on('changed', onChange);
  reg.on('added', onChange);
  reg.on('removed', onChange);
  push();
  const end = (): void => {
    clearTimeout(timer);
    clearInterval(keepalive);
    reg.off('changed', onChange);
    reg.off('added', onChange);
    reg.off('removed', onChange);
    open.delete(res);
  };
  req.on('close', end);
  res.on('error', end);
}

/**
 * `GET|HEAD /api/torrents/ID/files/N/stream` (stream.ts): the engine's read stream piped into the
 * response; a client that goes away destroys it (its pieces lose their priority).
 */
function fileStream(
  handler: DaemonHandler,
  req: IncomingMessage,
  res: ServerResponse,
  headers: Record<string, string | undefined>,
  open: { count: number },
): void {
  req.resume();
  const r = fileStreamRoute(handler.registry, { method: req.method ?? 'GET', url: req.url ?? '/', headers }, open);
  if (!('stream' in r)) return send(res, r);
  res.writeHead(r.status, { ...r.headers, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  const body = r.stream;
  if (body === undefined) return void res.end();
  open.count++;
  // An error after the headers went out (the torrent closed) can only cut the response short.
  pipeline(body, res, () => open.count--);
}

/** The handler on a Node HTTP server (the app listens it where --listen says). */
export function httpServer(handler: DaemonHandler): Server {
  const streams = new Set<ServerResponse>();
  const fileStreams = { count: 0 };
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
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (req.method === 'GET' && path === '/api/events') return eventStream(handler, req, res, streams);
    if (FILE_STREAM_PATH.test(path)) return fileStream(handler, req, res, headers, fileStreams);
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
