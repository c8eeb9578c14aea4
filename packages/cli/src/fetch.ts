import { resolve } from 'node:path';
import { CliError, UsageError } from './exit-codes.js';
import { readInputFile } from './files.js';

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

/** Only web URLs are fetched; anything else on the command line is taken as a file path. */
export function isWebUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/**
 * Downloads a small file (a .torrent) over HTTP(S) with undici: bounded redirects, one overall
 * timeout, and the size limit enforced on the bytes received, so a huge or endless body is cut off
 * early. Network failures are CLI_FETCH_FAILED (exit 4); a body over the limit is CLI_BAD_INPUT
 * (exit 3), like a file over it.
 */
export async function fetchLimited(url: string, opts: FetchOptions): Promise<Buffer> {
  // Loaded on first use: undici costs a quarter second of start-up that file inputs never need.
  const { Agent, interceptors, request } = await import('undici');
  const timeoutMs = opts.timeoutMs ?? FETCH_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  const agent = new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connectTimeout: timeoutMs });
  const dispatcher = agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS }));
  try {
    const res = await request(url, { dispatcher, signal, method: 'GET' });
    if (res.statusCode >= 300 && res.statusCode < 400) {
      discard(res.body);
      throw new CliError('CLI_FETCH_FAILED', `more than ${MAX_REDIRECTS} redirects`);
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
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body) {
      const b = chunk as Buffer;
      total += b.length;
      if (total > opts.maxBytes) {
        discard(res.body);
        throw tooLarge(opts.maxBytes);
      }
      chunks.push(b);
    }
    return Buffer.concat(chunks, total);
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (opts.signal?.aborted) throw new CliError('CLI_INTERRUPTED', 'interrupted', { cause: e });
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
