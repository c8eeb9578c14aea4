import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { isPublicAddress } from '@tc/cli';
import { Agent, request } from 'undici';
import { DaemonError } from './errors.js';

/** Redirects followed, each checked like the first URL. */
export const MAX_URL_REDIRECTS = 5;

export interface TorrentFetchOptions {
  readonly maxBytes: number;
  readonly timeoutMs: number;
  /** Also fetch from addresses that are not public unicast (loopback, private, link-local, reserved: @tc/cli's isPublicAddress). */
  readonly allowPrivate: boolean;
}

function privateRefused(host: string): DaemonError {
  return new DaemonError(
    'DAEMON_PRIVATE_ADDRESS',
    `${host} is a loopback, private, link-local or reserved address; the daemon fetches such URLs only with --allow-private-urls`,
  );
}

/**
 * Fetches a .torrent for a remote caller without becoming its proxy into the LAN (SSRF): every
 * hop's URL is http(s); an address literal is checked before connecting, and a name is checked on
 * the addresses the connection really uses (a lookup hook in the dispatcher, so a name that
 * resolves differently the second time cannot slip through). Redirects are followed by hand, each
 * hop checked. The body is cut off past `maxBytes`. Failures are DaemonErrors.
 */
export async function fetchTorrentUrl(url: string, o: TorrentFetchOptions): Promise<Buffer> {
  const guardedLookup = (
    hostname: string,
    options: object,
    cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err !== null) return cb(err, []);
      if (!o.allowPrivate && (addresses.length === 0 || addresses.some((a) => !isPublicAddress(a.address))))
        return cb(privateRefused(hostname) as NodeJS.ErrnoException, []);
      const all = (options as { all?: boolean }).all === true;
      if (all) cb(null, addresses);
      else cb(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
  const agent = new Agent({ connect: { lookup: guardedLookup, timeout: o.timeoutMs }, headersTimeout: o.timeoutMs, bodyTimeout: o.timeoutMs });
  const signal = AbortSignal.timeout(o.timeoutMs);
  let current = url;
  try {
    for (let hop = 0; hop <= MAX_URL_REDIRECTS; hop++) {
      let u: URL;
      try {
        u = new URL(current);
      } catch {
        throw new DaemonError('DAEMON_BAD_REQUEST', 'not a valid URL');
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new DaemonError('DAEMON_BAD_REQUEST', 'only http and https URLs are fetched');
      const host = u.hostname.replace(/^\[|\]$/g, '');
      if (!o.allowPrivate && isIP(host) !== 0 && !isPublicAddress(host)) throw privateRefused(host);
      const res = await request(u, { dispatcher: agent, signal, method: 'GET' });
      if (res.statusCode >= 300 && res.statusCode < 400 && typeof res.headers.location === 'string') {
        res.body.on('error', () => undefined);
        res.body.destroy();
        current = new URL(res.headers.location, u).toString();
        continue;
      }
      if (res.statusCode !== 200) {
        res.body.on('error', () => undefined);
        res.body.destroy();
        throw new DaemonError('DAEMON_BAD_REQUEST', `the server answered HTTP ${res.statusCode}`);
      }
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of res.body) {
        const b = chunk as Buffer;
        total += b.length;
        if (total > o.maxBytes) {
          res.body.destroy();
          throw new DaemonError('DAEMON_TOO_LARGE', `the answer is larger than ${o.maxBytes} bytes`);
        }
        chunks.push(b);
      }
      return Buffer.concat(chunks, total);
    }
    throw new DaemonError('DAEMON_BAD_REQUEST', `more than ${MAX_URL_REDIRECTS} redirects`);
  } catch (e) {
    if (e instanceof DaemonError) throw e;
    // undici wraps the lookup hook's refusal as the connection's cause.
    let c: unknown = e;
    while (c instanceof Error) {
      if (c instanceof DaemonError) throw c;
      c = c.cause;
    }
    throw new DaemonError('DAEMON_BAD_REQUEST', `cannot fetch the torrent: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  } finally {
    await agent.destroy();
  }
}
