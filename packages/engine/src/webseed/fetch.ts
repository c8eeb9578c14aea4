import { isPrivateHost } from '@tc/tracker';
import { request, type Dispatcher } from 'undici';

/** Redirects followed per request before the seed is said to redirect in a loop. */
export const WEB_SEED_MAX_REDIRECTS = 5;
/** Body bytes of a redirect or error reply read (and dropped) before the connection is given up. */
const MAX_DISCARD_BYTES = 64 * 1024;

/** Why a web seed request failed: a short reason for the status, and whether it is the server's fault. */
export class WebSeedFailure extends Error {
  override readonly name = 'WebSeedFailure';
}

export interface RangeFetchOptions {
  readonly dispatcher?: Dispatcher;
  /** Aborts the request (timeout, torrent closed). */
  readonly signal: AbortSignal;
  readonly maxRedirects?: number;
  readonly userAgent?: string;
  /** The file's length: a 200 reply is accepted only when the range is the whole file. */
  readonly fileLength: number;
}

function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `bytes START-END/TOTAL` (TOTAL may be `*`): the first and last byte, or undefined when unreadable. */
export function parseContentRange(v: string | undefined): { first: number; last: number } | undefined {
  const m = v === undefined ? null : /^\s*bytes\s+(\d{1,15})-(\d{1,15})\/(\d{1,15}|\*)\s*$/i.exec(v);
  if (m === null) return undefined;
  return { first: Number(m[1]), last: Number(m[2]) };
}

/**
 * One HTTP Range GET of `length` bytes at `start` of the file at `url`, written into `dest` at
 * `destOffset` as it arrives: never more than the bytes asked are held (a longer body is an error,
 * the connection cut). Redirects are followed up to a bound, same scheme only, never from a public
 * host to a private one. Throws
 * WebSeedFailure with a reason for: an HTTP error status, a reply without Range support (200 for a
 * part of the file, or no/mismatched Content-Range), a short or long body, too many redirects.
 */
export async function fetchRange(url: string, start: number, length: number, dest: Buffer, destOffset: number, o: RangeFetchOptions): Promise<void> {
  const maxRedirects = o.maxRedirects ?? WEB_SEED_MAX_REDIRECTS;
  const original = new URL(url);
  let current = original;
  for (let hop = 0; ; hop++) {
    const res = await request(current.href, {
      method: 'GET',
      signal: o.signal,
      headers: {
        range: `bytes=${start}-${start + length - 1}`,
        'accept-encoding': 'identity',
        ...(o.userAgent !== undefined ? { 'user-agent': o.userAgent } : {}),
      },
      ...(o.dispatcher !== undefined ? { dispatcher: o.dispatcher } : {}),
    });
    const status = res.statusCode;
    const location = header(res.headers, 'location');
    if (status >= 300 && status < 400 && location !== undefined) {
      await res.body.dump({ limit: MAX_DISCARD_BYTES }).catch(() => undefined);
      if (hop >= maxRedirects) throw new WebSeedFailure(`more than ${maxRedirects} redirects (a redirect loop?)`);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new WebSeedFailure('redirect to an invalid URL');
      }
      if (next.protocol !== current.protocol) throw new WebSeedFailure(`redirect from ${current.protocol} to ${next.protocol} refused`);
      // As for trackers (RELIABILITY.md #29): a public server may not send us to a loopback or private address.
      if (isPrivateHost(next.hostname) && !isPrivateHost(original.hostname)) throw new WebSeedFailure(`redirect to private address ${next.hostname} refused`);
      current = next;
      continue;
    }
    if (status !== 206 && status !== 200) {
      await res.body.dump({ limit: MAX_DISCARD_BYTES }).catch(() => undefined);
      throw new WebSeedFailure(status === 404 ? 'HTTP 404: file not found' : `HTTP ${status}`);
    }
    if (status === 200) {
      // A whole-file reply is only right when the whole file was asked for.
      const len = Number(header(res.headers, 'content-length'));
      if (!(start === 0 && length === o.fileLength && len === length)) {
        res.body.destroy();
        throw new WebSeedFailure('no Range support (HTTP 200 with the whole file for a range request)');
      }
    } else {
      const cr = parseContentRange(header(res.headers, 'content-range'));
      if (cr === undefined) {
        res.body.destroy();
        throw new WebSeedFailure('no Range support (HTTP 206 without a readable Content-Range)');
      }
      if (cr.first !== start || cr.last !== start + length - 1) {
        res.body.destroy();
        throw new WebSeedFailure(`Content-Range ${cr.first}-${cr.last} does not match the range asked (${start}-${start + length - 1})`);
      }
    }
    let got = 0;
    try {
      for await (const chunk of res.body) {
        const b = chunk as Buffer;
        if (got + b.length > length) throw new WebSeedFailure(`reply is longer than the ${length} bytes asked`);
        b.copy(dest, destOffset + got);
        got += b.length;
      }
    } catch (e) {
      res.body.destroy();
      throw e;
    }
    if (got !== length) throw new WebSeedFailure(`reply has ${got} bytes, not the ${length} asked`);
    return;
  }
}
