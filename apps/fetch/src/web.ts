import { USER_AGENT } from '@tc/wire';
import { CommandError, ExitCode, fetchWeb, formatProblem } from '@tc/cli';
import { inspectMetainfo, MAX_TORRENT_BYTES, type Metainfo } from '@tc/codec';

export interface WebFetchOptions {
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  /** The SSRF guard for URLs that came from the network (feed items); undefined allows every address. */
  readonly allowAddress?: ((ip: string) => boolean) | undefined;
}

/**
 * Downloads a .torrent over http(s) (size-capped as every .torrent input, content sniffed) and
 * validates it as tc-validate does: any error refuses it (exit 3) and nothing is saved.
 */
export async function fetchTorrent(url: string, o: WebFetchOptions): Promise<{ bytes: Buffer; metainfo: Metainfo }> {
  const res = await fetchWeb(url, {
    maxBytes: MAX_TORRENT_BYTES,
    timeoutMs: o.timeoutMs,
    signal: o.signal,
    expect: 'torrent',
    userAgent: USER_AGENT,
    accept: 'application/x-bittorrent, */*;q=0.5',
    allowAddress: o.allowAddress,
  });
  return { bytes: res.body, metainfo: validTorrent(res.body) };
}

/** The metainfo of a .torrent that passes tc-validate's checks (lenient mode: warnings allowed), or a CommandError (exit 3). */
export function validTorrent(bytes: Buffer): Metainfo {
  const report = inspectMetainfo(bytes, { mode: 'lenient' });
  const first = report.errors[0];
  if (report.metainfo === undefined || first !== undefined) {
    const more = report.errors.length > 1 ? ` (and ${report.errors.length - 1} more problems)` : '';
    throw new CommandError(`not a valid torrent: ${first ? formatProblem(first) : 'unreadable'}${more}`, ExitCode.BAD_INPUT, {
      hint: 'tc-validate and tc-debug-torrent show every problem; nothing was saved',
    });
  }
  return report.metainfo;
}
