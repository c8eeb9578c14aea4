import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { CliError, UsageError } from './exit-codes.js';
import { readInputFile } from './files.js';
import { describeBody, looksLikeLogin, sniffBody, type BodyKind } from './fetch-sniff.js';

export { describeBody, isPublicAddress, sniffBody, type BodyKind } from './fetch-sniff.js';

/** How long a download (a .torrent, say) may take in all (issue 2: "10 s timeout"). */
export const FETCH_TIMEOUT_MS = 10_000;
/** Longest --timeout a command accepts: a person waiting for one small file does not wait longer. */
export const MAX_FETCH_TIMEOUT_S = 300;

/** Checks a `--timeout SECONDS` value (usage error, exit 2, when out of range) and returns milliseconds. */
export function timeoutMs(seconds: number, option = '--timeout'): number {
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_FETCH_TIMEOUT_S) {
    throw new UsageError(`${option} must be a number of seconds in (0, ${MAX_FETCH_TIMEOUT_S}]`);
  }
  return Math.round(seconds * 1000);
}

/** Redirects followed before giving up: enough for a CDN hop or two, not a loop. */
export const MAX_REDIRECTS = 5;

export interface FetchOptions {
  /** Largest body accepted, counted while streaming (a server may lie in Content-Length or send none). */
  readonly maxBytes: number;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

export interface FetchWebOptions extends FetchOptions {
  /** Redirects followed (default MAX_REDIRECTS); each hop is checked like the first URL. */
  readonly maxRedirects?: number;
  /**
   * Whether a connection to this IP address may be made (checked on every hop, after DNS, so a
   * name that resolves to 127.0.0.1 is caught too). Default: every address. A daemon or a feed
   * passes `isPublicAddress` so a URL from the network cannot reach the user's LAN (SSRF).
   */
  readonly allowAddress?: ((ip: string) => boolean) | undefined;
  /** What the caller wants: a body that is not that is refused with what came back (exit 3). */
  readonly expect?: 'torrent' | 'feed' | undefined;
  /** Sent as the Accept header. */
  readonly accept?: string | undefined;
  /** Sent as the User-Agent header (the identity module's USER_AGENT); default undici's. */
  readonly userAgent?: string | undefined;
}

/** What a fetch brought back. */
export interface WebResponse {
  readonly body: Buffer;
  /** The URL that answered, after redirects. */
  readonly url: string;
  readonly contentType: string | undefined;
  /** What the body is, from its bytes (not from Content-Type). */
  readonly kind: BodyKind;
  readonly redirects: number;
}

/** Only web URLs are fetched; anything else on the command line is taken as a file path. */
export function isWebUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Downloads a small file (a .torrent, a feed) over HTTP(S) with undici: redirects followed by hand
 * (bounded, each hop's address checked by `allowAddress`), one overall timeout plus idle timeouts,
 * and the size limit enforced on the bytes received, so a huge or endless body is cut off early.
 * With `expect`, the body is sniffed and anything else (an HTML page, a login page, an empty body)
 * is refused naming what came back. Errors: CLI_FETCH_FAILED (exit 4) for the network, an HTTP
 * error, a redirect loop or a refused address; CLI_BAD_INPUT (exit 3) for a body over the limit
 * or of the wrong kind; CLI_INTERRUPTED (130).
 */
export async function fetchWeb(url: string, opts: FetchWebOptions): Promise<WebResponse> {
  // Loaded on first use: undici costs a quarter second of start-up that file inputs never need.
  const { Agent, request } = await import('undici');
  const timeoutMs = opts.timeoutMs ?? FETCH_TIMEOUT_MS;
  const maxRedirects = opts.maxRedirects ?? MAX_REDIRECTS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  const allow = opts.allowAddress;
  const guard: { refused: string | undefined } = { refused: undefined };
  const agent = new Agent({
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    ...(allow ? { connect: { lookup: guardedLookup(allow, guard) } } : {}),
  });
  let current = url;
  let redirects = 0;
  let sawLogin = false;
  try {
    for (;;) {
      const target = parseWebUrl(current);
      if (allow) checkLiteral(target, allow);
      const res = await request(target, {
        dispatcher: agent,
        signal,
        method: 'GET',
        headers: { accept: opts.accept ?? '*/*', ...(opts.userAgent !== undefined ? { 'user-agent': opts.userAgent } : {}) },
      });
      if (REDIRECT_STATUSES.has(res.statusCode)) {
        discard(res.body);
        const location = res.headers.location;
        const next = typeof location === 'string' ? location : Array.isArray(location) ? location[0] : undefined;
        if (next === undefined) throw new CliError('CLI_FETCH_FAILED', `the server answered HTTP ${res.statusCode} without a Location`);
        if (redirects >= maxRedirects) {
          throw new CliError('CLI_FETCH_FAILED', `more than ${maxRedirects} redirects (a redirect loop?)`, {
            hint: 'open the URL in a browser to see where it leads',
          });
        }
        redirects++;
        current = new URL(next, target).toString();
        if (looksLikeLogin(current)) sawLogin = true;
        continue;
      }
      if (res.statusCode === 401 || res.statusCode === 403) {
        discard(res.body);
        throw new CliError('CLI_FETCH_FAILED', `the server answered HTTP ${res.statusCode}: it wants a login`, {
          hint: 'download the file in a browser where you are logged in, then use the saved file',
        });
      }
      if (res.statusCode !== 200) {
        discard(res.body);
        throw new CliError('CLI_FETCH_FAILED', `the server answered HTTP ${res.statusCode}`);
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > opts.maxBytes) {
        discard(res.body);
        throw tooLarge(opts.maxBytes);
      }
      const body = await readCapped(res.body, opts.maxBytes);
      const ct = res.headers['content-type'];
      const contentType = typeof ct === 'string' ? ct : undefined;
      const kind = sniffBody(body);
      const response: WebResponse = { body, url: current, contentType, kind, redirects };
      if (opts.expect) checkKind(response, opts.expect, sawLogin || looksLikeLogin(current));
      return response;
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (opts.signal?.aborted) throw new CliError('CLI_INTERRUPTED', 'interrupted', { cause: e });
    if (guard.refused !== undefined) throw refusedAddress(guard.refused, e);
    if (timeout.aborted) {
      throw new CliError('CLI_FETCH_FAILED', `no complete answer within ${timeoutMs / 1000} s`, {
        hint: 'the server is slow or unreachable; try again or raise --timeout',
        cause: e,
      });
    }
    const message = e instanceof Error ? e.message : String(e);
    throw new CliError('CLI_FETCH_FAILED', `download failed: ${message}`, { cause: e });
  } finally {
    await agent.destroy();
  }
}

/**
 * Downloads a small file over HTTP(S): `fetchWeb` without content checks, the body only.
 * Network failures are CLI_FETCH_FAILED (exit 4); a body over the limit is CLI_BAD_INPUT (exit 3).
 */
export async function fetchLimited(url: string, opts: FetchOptions): Promise<Buffer> {
  return (await fetchWeb(url, opts)).body;
}

function parseWebUrl(text: string): URL {
  let u: URL;
  try {
    u = new URL(text);
  } catch (e) {
    throw new CliError('CLI_BAD_INPUT', 'not a valid URL', { cause: e });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError('CLI_BAD_INPUT', `only http and https URLs are fetched, not ${u.protocol}`);
  return u;
}

/** An IP literal in the URL is checked here: Node does not call `lookup` for one. */
function checkLiteral(u: URL, allow: (ip: string) => boolean): void {
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !allow(host)) throw refusedAddress(host);
}

function refusedAddress(ip: string, cause?: unknown): CliError {
  return new CliError('CLI_FETCH_FAILED', `refused to connect to ${ip}: a private, loopback or reserved address`, {
    hint: 'a URL from the network may not reach your own machine or LAN; allow it explicitly if you trust it',
    ...(cause !== undefined ? { cause } : {}),
  });
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `net.connect` lookup that resolves as usual, then refuses (and records) an address `allow` rejects. */
function guardedLookup(allow: (ip: string) => boolean, guard: { refused: string | undefined }) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const bad = addresses.find((a) => !allow(a.address));
      if (bad) {
        guard.refused = bad.address;
        return callback(Object.assign(new Error(`refused address ${bad.address}`), { code: 'EADDRNOTAVAIL' }), []);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}

async function readCapped(body: AsyncIterable<unknown> & NodeJS.ReadableStream & { destroy(): unknown }, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > maxBytes) {
      discard(body);
      throw tooLarge(maxBytes);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, total);
}

/** Refuses a body that is not what the caller asked for, naming what it is. */
function checkKind(r: WebResponse, expect: 'torrent' | 'feed', login: boolean): void {
  const ok = expect === 'torrent' ? r.kind === 'torrent' : r.kind === 'xml';
  if (ok) return;
  const wanted = expect === 'torrent' ? 'a .torrent file' : 'an RSS or Atom feed';
  if (login && r.kind === 'html') {
    throw new CliError('CLI_BAD_INPUT', `expected ${wanted}, but the server redirected to a login page (${r.url})`, {
      hint: 'the site wants you logged in: download the file in a browser, then use the saved file',
    });
  }
  const hint =
    r.kind === 'html'
      ? 'the URL leads to a web page: copy the link of the download itself'
      : r.kind === 'empty'
        ? 'the server sent nothing; try again later'
        : undefined;
  throw new CliError('CLI_BAD_INPUT', `expected ${wanted}, got ${describeBody(r.body, r.kind)}`, hint !== undefined ? { hint } : {});
}

/** Drops a body we will not read; its abort error has a listener, so it cannot crash the process. */
function discard(body: NodeJS.ReadableStream & { destroy(): unknown }): void {
  body.on('error', () => undefined);
  body.destroy();
}

function tooLarge(maxBytes: number): CliError {
  return new CliError('CLI_BAD_INPUT', `the answer is larger than ${maxBytes} bytes, too large for this input`);
}

/**
 * What a command argument names: fetched when it is an http(s) URL, else read from disk relative
 * to `cwd`; both under the same size limit.
 */
export async function readFileOrUrl(source: string, opts: FetchOptions & { readonly cwd: string }): Promise<Buffer> {
  if (isWebUrl(source)) return fetchLimited(source, opts);
  return readInputFile(resolve(opts.cwd, source), { maxBytes: opts.maxBytes });
}
