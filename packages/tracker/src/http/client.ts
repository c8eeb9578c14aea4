import { gunzipSync, inflateSync } from 'node:zlib';
import { Agent, request, type Dispatcher } from 'undici';
import { isPrivateHost } from '../address.js';
import { TrackerError, withUrl } from '../errors.js';
import type { AnnounceRequest, AnnounceResult, ScrapeResult } from '../types.js';
import { buildAnnounceUrl, buildScrapeUrl, checkHttpUrl, parseAnnounceReply, parseScrapeReply, scrapeUrlFor } from './protocol.js';

/** RELIABILITY #27 / libtorrent `tracker_maximum_response_length`: 1 MiB, after decompression. */
export const MAX_HTTP_BODY_BYTES = 1024 * 1024;
/** RELIABILITY #27: the whole exchange (connect, redirects, body) must finish in 10 s. */
export const HTTP_TIMEOUT_MS = 10_000;
/** Redirects followed before giving up; real trackers use one at most (http → https, a moved host). */
export const MAX_REDIRECTS = 5;

/** The undici dispatcher type, re-exported so callers need no direct undici dependency. */
export type HttpDispatcher = Dispatcher;

/**
 * A connection pool for tracker requests that the caller owns and closes (`close()`), so no
 * keep-alive socket outlives a command. `connectTimeoutMs` bounds the TCP/TLS connect.
 */
export function createTrackerAgent(opts: { connectTimeoutMs?: number; keepAliveMs?: number } = {}): Dispatcher {
  return new Agent({ connect: { timeout: opts.connectTimeoutMs ?? HTTP_TIMEOUT_MS }, keepAliveTimeout: opts.keepAliveMs ?? 4_000 });
}

export interface HttpTrackerOptions {
  /** undici dispatcher (an Agent, a MockAgent in tests); undici's global one when absent. */
  readonly dispatcher?: Dispatcher;
  readonly timeoutMs?: number;
  readonly maxBodyBytes?: number;
  readonly maxRedirects?: number;
  /** Sent as `User-Agent`; comes from the caller's identity module. */
  readonly userAgent?: string;
  readonly signal?: AbortSignal;
  /** Called once per HTTP exchange (redirect hops included), for `--verbose` displays. */
  readonly onExchange?: (x: HttpExchange) => void;
}

export interface HttpExchange {
  readonly url: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body after decompression (empty for redirects). */
  readonly body: Buffer;
}

export interface HttpResponse {
  readonly url: string;
  readonly status: number;
  readonly body: Buffer;
}

const SYSTEM_CODES: Record<string, 'TRACKER_DNS' | 'TRACKER_REFUSED' | 'TRACKER_TIMEOUT'> = {
  ENOTFOUND: 'TRACKER_DNS',
  EAI_AGAIN: 'TRACKER_DNS',
  EAI_NONAME: 'TRACKER_DNS',
  EAI_FAIL: 'TRACKER_DNS',
  ECONNREFUSED: 'TRACKER_REFUSED',
  ECONNRESET: 'TRACKER_REFUSED',
  ETIMEDOUT: 'TRACKER_TIMEOUT',
  UND_ERR_CONNECT_TIMEOUT: 'TRACKER_TIMEOUT',
  UND_ERR_HEADERS_TIMEOUT: 'TRACKER_TIMEOUT',
  UND_ERR_BODY_TIMEOUT: 'TRACKER_TIMEOUT',
};

/** Finds the most telling system error code in a cause chain (undici nests them, sometimes in AggregateError). */
function networkCode(e: unknown, depth = 0): string | undefined {
  if (depth > 5 || typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code in SYSTEM_CODES) return code;
  const inner = (e as { errors?: unknown }).errors;
  if (Array.isArray(inner)) {
    for (const x of inner) {
      const c = networkCode(x, depth + 1);
      if (c) return c;
    }
  }
  return networkCode((e as { cause?: unknown }).cause, depth + 1) ?? (typeof code === 'string' ? code : undefined);
}

function mapNetworkError(e: unknown, url: string): TrackerError {
  if (e instanceof TrackerError) return withUrl(e, url) as TrackerError;
  const code = networkCode(e);
  const mapped = code !== undefined ? SYSTEM_CODES[code] : undefined;
  const why = code ?? (e as Error).message;
  if (mapped === 'TRACKER_DNS') return new TrackerError('TRACKER_DNS', `host did not resolve (${why})`, { url, cause: e });
  if (mapped === 'TRACKER_REFUSED') return new TrackerError('TRACKER_REFUSED', `connection refused (${why})`, { url, cause: e });
  if (mapped === 'TRACKER_TIMEOUT') return new TrackerError('TRACKER_TIMEOUT', `timed out (${why})`, { url, cause: e });
  return new TrackerError('TRACKER_NETWORK', `network error (${why})`, { url, cause: e });
}

function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads a body with a hard byte cap, then undoes gzip/deflate with the same cap on the output. */
async function readBody(body: Dispatcher.ResponseData['body'], encoding: string | undefined, cap: number, url: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > cap) {
      body.destroy();
      throw new TrackerError('TRACKER_TOO_LARGE', `reply is larger than ${cap} bytes`, { url });
    }
    chunks.push(b);
  }
  const raw = Buffer.concat(chunks, total);
  const enc = encoding?.trim().toLowerCase();
  if (enc === undefined || enc === '' || enc === 'identity') return raw;
  if (enc !== 'gzip' && enc !== 'x-gzip' && enc !== 'deflate') {
    throw new TrackerError('TRACKER_BAD_RESPONSE', `unsupported content-encoding ${JSON.stringify(enc)}`, { url });
  }
  try {
    // maxOutputLength stops a gzip bomb while inflating, not after (CVE-2016-7164 class).
    return enc === 'deflate' ? inflateSync(raw, { maxOutputLength: cap }) : gunzipSync(raw, { maxOutputLength: cap });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new TrackerError('TRACKER_TOO_LARGE', `decompressed reply is larger than ${cap} bytes`, { url, cause: e });
    }
    throw new TrackerError('TRACKER_BAD_RESPONSE', `reply does not decompress: ${(e as Error).message}`, { url, cause: e });
  }
}

/**
 * The redirect rule (RELIABILITY #29): same scheme only, and no hop from a public host to a
 * loopback/private one. A tracker that is itself private (tests, LAN trackers) may redirect within.
 */
function checkRedirect(from: URL, to: URL, original: URL): void {
  if (to.protocol !== from.protocol) {
    throw new TrackerError('TRACKER_REDIRECT', `redirect from ${from.protocol} to ${to.protocol} refused`, { url: to.href });
  }
  if (isPrivateHost(to.hostname) && !isPrivateHost(original.hostname)) {
    throw new TrackerError('TRACKER_REDIRECT', `redirect to private address ${to.hostname} refused`, { url: to.href });
  }
}

/** One GET with bounded redirects, size and time. Non-200 statuses are returned, not thrown. */
export async function httpGet(url: string, opts: HttpTrackerOptions = {}): Promise<HttpResponse> {
  const original = checkHttpUrl(url);
  const timeoutMs = opts.timeoutMs ?? HTTP_TIMEOUT_MS;
  const cap = opts.maxBodyBytes ?? MAX_HTTP_BODY_BYTES;
  const maxRedirects = opts.maxRedirects ?? MAX_REDIRECTS;
  const ctl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, timeoutMs);
  const onAbort = (): void => ctl.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let current = original;
  try {
    if (opts.signal?.aborted) throw new TrackerError('TRACKER_ABORTED', 'aborted', { url });
    for (let hop = 0; ; hop++) {
      const res = await request(current.href, {
        method: 'GET',
        signal: ctl.signal,
        headers: {
          'accept-encoding': 'gzip',
          ...(opts.userAgent !== undefined ? { 'user-agent': opts.userAgent } : {}),
        },
        ...(opts.dispatcher !== undefined ? { dispatcher: opts.dispatcher } : {}),
      });
      const headers = res.headers;
      if (res.statusCode >= 300 && res.statusCode < 400 && header(headers, 'location') !== undefined) {
        await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
        opts.onExchange?.({ url: current.href, status: res.statusCode, headers, body: Buffer.alloc(0) });
        if (hop >= maxRedirects) throw new TrackerError('TRACKER_REDIRECT', `more than ${maxRedirects} redirects`, { url: current.href });
        let next: URL;
        try {
          next = new URL(header(headers, 'location') ?? '', current);
        } catch (e) {
          throw new TrackerError('TRACKER_REDIRECT', 'redirect to an invalid URL', { url: current.href, cause: e });
        }
        checkRedirect(current, next, original);
        current = next;
        continue;
      }
      const len = Number(header(headers, 'content-length'));
      if (Number.isFinite(len) && len > cap) {
        res.body.destroy();
        throw new TrackerError('TRACKER_TOO_LARGE', `reply announces ${len} bytes, more than ${cap}`, { url: current.href });
      }
      const body = await readBody(res.body, header(headers, 'content-encoding'), cap, current.href);
      opts.onExchange?.({ url: current.href, status: res.statusCode, headers, body });
      return { url: current.href, status: res.statusCode, body };
    }
  } catch (e) {
    if (timedOut) throw new TrackerError('TRACKER_TIMEOUT', `no complete reply within ${timeoutMs} ms`, { url: current.href, cause: e });
    if (opts.signal?.aborted) throw new TrackerError('TRACKER_ABORTED', 'aborted', { url: current.href, cause: e });
    throw mapNetworkError(e, current.href);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** Parses a reply body, keeping a tracker's `failure reason` even when it came with a non-200 status. */
function parseOrStatus<T>(res: HttpResponse, parse: (b: Buffer) => T): T {
  if (res.status === 200) {
    try {
      return parse(res.body);
    } catch (e) {
      throw withUrl(e, res.url);
    }
  }
  try {
    parse(res.body);
  } catch (e) {
    if (e instanceof TrackerError && e.code === 'TRACKER_FAILURE') throw withUrl(e, res.url);
  }
  throw new TrackerError('TRACKER_HTTP_STATUS', `HTTP status ${res.status}`, { url: res.url, status: res.status });
}

/** BEP 3 announce over HTTP(S). */
export async function httpAnnounce(announceUrl: string, req: AnnounceRequest, opts: HttpTrackerOptions = {}): Promise<AnnounceResult> {
  const res = await httpGet(buildAnnounceUrl(announceUrl, req), opts);
  return parseOrStatus(res, (b) => parseAnnounceReply(b));
}

/** BEP 48 scrape over HTTP(S) for several torrents at once. */
export async function httpScrape(announceUrl: string, infoHashes: readonly Buffer[], opts: HttpTrackerOptions = {}): Promise<ScrapeResult> {
  const scrapeUrl = scrapeUrlFor(announceUrl);
  if (scrapeUrl === undefined) {
    throw new TrackerError('TRACKER_UNSUPPORTED', 'tracker has no scrape URL (BEP 48: its path does not end in /announce…)', { url: announceUrl });
  }
  const res = await httpGet(buildScrapeUrl(scrapeUrl, infoHashes), opts);
  return parseOrStatus(res, parseScrapeReply);
}
