import { USER_AGENT } from '@tc/wire';
import { CommandError, ExitCode, sanitize, UsageError } from '@tc/cli';

/** Longest answer read from the daemon (a view of one torrent is a few KiB). */
export const MAX_DAEMON_ANSWER_BYTES = 1024 * 1024;
/** Longest USER:PASS accepted. */
const MAX_AUTH_CHARS = 1024;
/** Longest daemon message quoted in an error. */
const MAX_MESSAGE_CHARS = 300;

/** Where `--add-to` hands torrents: a tc-daemon's base URL and its basic-auth credentials. */
export interface DaemonTarget {
  /** The daemon's base URL as shown to the user (no credentials, no trailing slash). */
  readonly url: string;
  /** `POST` target: URL + /api/torrents. */
  readonly endpoint: URL;
  /** The `Authorization` header; undefined when no credentials were given. */
  readonly authorization: string | undefined;
}

/**
 * Reads `--add-to URL` with `--add-to-auth USER:PASS` (else env TC_ADD_TO_AUTH). The URL is http(s)
 * with no path beyond `/`, no query and no credentials in it (they would show in `ps`); mistakes are
 * UsageErrors (exit 2). The password is never part of any message.
 */
export function parseAddTo(url: string, auth: string | undefined, env: Readonly<Record<string, string | undefined>>): DaemonTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--add-to: cannot read ${JSON.stringify(sanitize(url))} as a URL`, 'e.g. --add-to http://127.0.0.1:9091');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--add-to: only http and https, not ${u.protocol}`);
  if (u.username !== '' || u.password !== '')
    throw new UsageError('--add-to: put the credentials in --add-to-auth USER:PASS or TC_ADD_TO_AUTH, not in the URL');
  if (u.search !== '' || u.hash !== '') throw new UsageError('--add-to: the daemon’s URL takes no query or fragment');
  const base = u.pathname.replace(/\/+$/, '');
  const shown = `${u.origin}${base}`;
  const given = auth ?? (env['TC_ADD_TO_AUTH'] !== '' ? env['TC_ADD_TO_AUTH'] : undefined);
  let authorization: string | undefined;
  if (given !== undefined) {
    const colon = given.indexOf(':');
    if (colon <= 0 || given.length > MAX_AUTH_CHARS || /[\u0000-\u001f\u007f]/.test(given))
      throw new UsageError('--add-to-auth: expected USER:PASS', 'or set TC_ADD_TO_AUTH=USER:PASS');
    authorization = `Basic ${Buffer.from(given, 'utf8').toString('base64')}`;
  }
  return { url: shown, endpoint: new URL(`${base}/api/torrents`, u.origin), authorization };
}

/** What the daemon said about a torrent it took. */
export interface DaemonAdded {
  /** False when the daemon already had it (409 DAEMON_DUPLICATE). */
  readonly isNew: boolean;
}

/**
 * Hands one validated .torrent to the daemon: `POST /api/torrents {torrent: base64}`. 201 is added;
 * 409 DAEMON_DUPLICATE is "already there" (not a failure). A network failure or timeout is exit 4;
 * any other answer is the daemon's refusal, exit 1, quoting its message (sanitized); 401 says the
 * credentials were refused.
 */
export async function addToDaemon(target: DaemonTarget, bytes: Uint8Array, o: { timeoutMs: number; signal: AbortSignal | undefined }): Promise<DaemonAdded> {
  const { Agent, request } = await import('undici');
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = o.signal ? AbortSignal.any([timeout, o.signal]) : timeout;
  const agent = new Agent({ headersTimeout: o.timeoutMs, bodyTimeout: o.timeoutMs, connectTimeout: o.timeoutMs });
  const where = `the daemon at ${target.url}`;
  let status: number;
  let body: Buffer;
  try {
    const res = await request(target.endpoint, {
      dispatcher: agent,
      signal,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'user-agent': USER_AGENT,
        ...(target.authorization !== undefined ? { authorization: target.authorization } : {}),
      },
      body: JSON.stringify({ torrent: Buffer.from(bytes).toString('base64') }),
    });
    status = res.statusCode;
    body = await readCapped(res.body, MAX_DAEMON_ANSWER_BYTES);
  } catch (e) {
    if (o.signal?.aborted) throw new CommandError('interrupted', ExitCode.INTERRUPTED, { cause: e });
    if (timeout.aborted) throw new CommandError(`${where} did not answer within ${o.timeoutMs / 1000} s`, ExitCode.NETWORK, { cause: e });
    throw new CommandError(`cannot reach ${where}: ${sanitize((e as Error).message ?? String(e))}`, ExitCode.NETWORK, {
      hint: 'is tc-daemon running there? (tc-daemon prints the address it listens on)',
      cause: e,
    });
  } finally {
    await agent.destroy();
  }
  if (status === 201 || status === 200) return { isNew: true };
  const err = daemonError(body);
  if (status === 409 && err?.code === 'DAEMON_DUPLICATE') return { isNew: false };
  if (status === 401) {
    throw new CommandError(`${where} refused the credentials (HTTP 401)`, ExitCode.FAILURE, {
      hint: 'give the daemon’s USER:PASS with --add-to-auth or TC_ADD_TO_AUTH',
    });
  }
  const said = err !== undefined ? `: ${err.code !== undefined ? `${err.code}: ` : ''}${err.message}` : '';
  throw new CommandError(`${where} refused the torrent (HTTP ${status})${said}`, ExitCode.FAILURE, {
    ...(status === 421 ? { hint: 'the daemon does not accept this host name; use the address it listens on, or its --allow-host' } : {}),
  });
}

/** The `{error: {code, message}}` of a daemon answer, sanitized and shortened; undefined when there is none. */
function daemonError(body: Buffer): { code: string | undefined; message: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof message !== 'string') return undefined;
  const short = (s: string, n: number) => sanitize(s.length > n ? `${s.slice(0, n)}…` : s);
  return { code: typeof code === 'string' ? short(code, 64) : undefined, message: short(message, MAX_MESSAGE_CHARS) };
}

/** Reads a body up to `max` bytes; more is an error (exit 4: the daemon misbehaved). */
async function readCapped(stream: AsyncIterable<unknown> & { destroy?: () => void }, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > max) {
      stream.destroy?.();
      throw new Error(`the answer is larger than ${max} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
