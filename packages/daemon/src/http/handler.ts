import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DAEMON_HTTP_STATUS, DaemonError } from '../errors.js';
import type { Registry } from '../registry.js';
import { apiRoute } from './api.js';
import { runRpc } from './rpc.js';

/** Largest request body: a base64 .torrent at codec's 10 MB cap fits, with room for the JSON around it. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;
export const SESSION_ID_HEADER = 'x-transmission-session-id';

/** The page's files (ui/ in this package, served as they are: no build step), by URL path. */
const UI_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/ui/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
const UI_DIR = new URL('../../ui/', import.meta.url);
/** The page loads nothing from elsewhere and cannot be framed. */
const PAGE_POLICY = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

export interface HttpRequest {
  readonly method: string;
  /** Path and query, as on the request line. */
  readonly url: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface HandlerOptions {
  readonly registry: Registry;
  /** `user:password`; undefined turns authentication off (only when the operator asked). */
  readonly auth: string | undefined;
  /** Host header values accepted (without port): the bind address, and `localhost` on loopback (DNS rebinding). */
  readonly hosts: readonly string[];
}

/** JSON safe to embed in a page and to print: `<`, `>`, `&` and the JavaScript line separators escaped. */
function escapeJson(text: string): string {
  return text.replace(/[<>&\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: escapeJson(JSON.stringify(value)) };
}

/** An error as the JSON API shows it: `{error: {code, message}}`. */
export function errorReply(e: unknown): HttpResponse {
  if (e instanceof DaemonError) return json(DAEMON_HTTP_STATUS[e.code], { error: { code: e.code, message: e.message } });
  const code = (e as { code?: unknown }).code;
  return json(500, { error: { code: typeof code === 'string' ? code : 'INTERNAL', message: e instanceof Error ? e.message : String(e) } });
}

/** The host part of a Host header (`[::1]:9091` → `::1`). */
export function hostOf(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') === -1 ? undefined : h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

function equalSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The daemon's HTTP surface without sockets: requests in, responses out. Checks the Host header
 * (DNS rebinding), basic auth, and for the Transmission RPC its 409 session-id handshake, then
 * routes to the RPC or the JSON API (both onto the same Registry).
 */
export class DaemonHandler {
  /** Transmission's CSRF token: handed out with a 409, required on every RPC call. */
  readonly sessionId = randomBytes(24).toString('base64url');
  private readonly hosts: ReadonlySet<string>;

  constructor(private readonly opts: HandlerOptions) {
    this.hosts = new Set(opts.hosts.map((h) => h.toLowerCase()));
  }

  get registry(): Registry {
    return this.opts.registry;
  }

  /** Checks Host and credentials; a response when refused. */
  gate(req: Pick<HttpRequest, 'headers'>): HttpResponse | undefined {
    const host = req.headers.host;
    if (host === undefined || !this.hosts.has(hostOf(host))) {
      return json(421, { error: { code: 'DAEMON_BAD_HOST', message: 'this Host is not the daemon’s address (DNS rebinding protection)' } });
    }
    if (this.opts.auth !== undefined) {
      const h = req.headers.authorization ?? '';
      const m = /^Basic\s+([A-Za-z0-9+/=]{1,2048})$/i.exec(h);
      const given = m !== null ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
      if (!equalSecret(given, this.opts.auth)) {
        return json(
          401,
          { error: { code: 'DAEMON_UNAUTHORIZED', message: 'credentials needed' } },
          { 'www-authenticate': 'Basic realm="tc-daemon", charset="UTF-8"' },
        );
      }
    }
    return undefined;
  }

  async handle(req: HttpRequest): Promise<HttpResponse> {
    const refused = this.gate(req);
    if (refused !== undefined) return refused;
    if (req.body.length > MAX_BODY_BYTES) return errorReply(new DaemonError('DAEMON_TOO_LARGE', `a body larger than ${MAX_BODY_BYTES} bytes`));
    const path = req.url.split('?')[0] ?? '/';
    try {
      if (path === '/transmission/rpc' || path === '/transmission/rpc/') return await this.rpc(req);
      if (path.startsWith('/api/')) return await apiRoute(this.opts.registry, req);
      const ui = Object.hasOwn(UI_FILES, path) ? UI_FILES[path] : undefined;
      if (ui !== undefined && req.method === 'GET') {
        const body = await readFile(new URL(ui.file, UI_DIR), 'utf8');
        return { status: 200, headers: { 'content-type': ui.type, 'content-security-policy': PAGE_POLICY, 'x-frame-options': 'DENY' }, body };
      }
      return json(404, { error: { code: 'DAEMON_NOT_FOUND', message: `no such page: ${path.slice(0, 200)}` } });
    } catch (e) {
      return errorReply(e);
    }
  }

  private async rpc(req: HttpRequest): Promise<HttpResponse> {
    const sid = { 'x-transmission-session-id': this.sessionId };
    if (req.headers[SESSION_ID_HEADER] !== this.sessionId) {
      return {
        status: 409,
        headers: { 'content-type': 'text/html; charset=utf-8', ...sid },
        body: `<h1>409: Conflict</h1><p>X-Transmission-Session-Id: ${this.sessionId}</p>`,
      };
    }
    if (req.method !== 'POST') return json(405, { result: 'use POST', arguments: {} }, sid);
    let body: unknown;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return json(400, { result: 'malformed JSON', arguments: {} }, sid);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return json(400, { result: 'the request must be a JSON object', arguments: {} }, sid);
    const o = body as Record<string, unknown>;
    const tag = Number.isSafeInteger(o.tag) ? { tag: o.tag } : {};
    const args = o.arguments === undefined ? {} : o.arguments;
    if (typeof args !== 'object' || args === null || Array.isArray(args))
      return json(400, { result: 'arguments must be an object', arguments: {}, ...tag }, sid);
    try {
      const reply = await runRpc(this.opts.registry, o.method, args as Record<string, unknown>);
      return json(200, { ...reply, ...tag }, sid);
    } catch (e) {
      // rpc-spec.md: failures are a `result` string other than "success", with HTTP 200.
      return json(200, { result: e instanceof Error ? e.message : String(e), arguments: {}, ...tag }, sid);
    }
  }
}
