import { homedir } from 'node:os';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { commandParser, parseCommand, UsageError, type Io } from '@tc/cli';
import { defaultStateDir } from '@tc/daemon';

const USAGE = `$0 [options]

Runs many torrents in one process and serves them over HTTP: the Transmission RPC
(POST /transmission/rpc, for transmission-remote and other remotes) and a JSON API (/api/).
Authentication is on: a password is generated on first start, printed once and kept in the state
folder, unless --auth user:pass gives one. Remote callers can only download under --download-root.`;

const EPILOGUE = `Exit codes: 0 stopped cleanly (SIGTERM, Ctrl-C) · 1 failure · 2 usage, or another daemon uses the
state folder · 4 cannot listen on the address · 5 the state folder cannot be written.`;

export interface DaemonArgs {
  readonly listenHost: string;
  readonly listenPort: number;
  readonly state: string;
  readonly auth: string | undefined;
  readonly roots: readonly string[];
  /** BitTorrent listen port (TCP, and UDP on the same number). */
  readonly port: number;
  readonly allowPrivateUrls: boolean;
  /** Extra Host header names accepted (a reverse proxy's name). */
  readonly hosts: readonly string[];
  readonly verbose: boolean;
}

/** `HOST:PORT`, `[V6]:PORT` or `PORT`. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s) ?? /^()()(\d{1,5})$/.exec(s);
  const port = m !== null ? Number(m[3]) : NaN;
  const host = m !== null ? (m[1] ?? m[2] ?? '') || '127.0.0.1' : '';
  if (m === null || port > 65535 || (isIP(host) === 0 && host !== 'localhost')) {
    throw new UsageError(`--listen ${JSON.stringify(s)}: give ADDRESS:PORT with an IP address (127.0.0.1:9091, [::1]:9091, 0.0.0.0:9091)`);
  }
  return { host, port };
}

/** Parses argv; undefined when --help or --version was shown. */
export async function parseDaemonArgs(argv: readonly string[], io: Io): Promise<DaemonArgs | undefined> {
  const parser = commandParser('tc-daemon', USAGE)
    .option('listen', { type: 'string', default: '127.0.0.1:9091', describe: 'HTTP address and port (RPC, API)' })
    .option('state', { type: 'string', describe: 'state folder (torrent list, lock, password); default $XDG_STATE_HOME/tc/daemon' })
    .option('auth', { type: 'string', describe: 'user:password for basic auth (default: a generated one, kept in the state folder)' })
    .option('download-root', {
      type: 'string',
      array: true,
      describe: 'a folder downloads may go under (repeatable; the first is the default); default ~/Downloads',
    })
    .option('port', { type: 'number', default: 51413, describe: 'BitTorrent listen port (0: any free one)' })
    .option('allow-private-urls', { type: 'boolean', default: false, describe: 'let callers add torrent URLs on loopback and private addresses' })
    .option('allow-host', { type: 'string', array: true, describe: 'another Host header name to accept (behind a reverse proxy)' })
    .example('$0 --download-root /srv/torrents', 'serve on 127.0.0.1:9091, downloading under /srv/torrents')
    .example('transmission-remote 9091 -n user:pass -l', 'list the torrents with a Transmission remote')
    .epilogue(EPILOGUE);
  const args = await parseCommand(parser, argv, io);
  if (!args) return undefined;
  if (args._.length > 0) throw new UsageError('tc-daemon takes no positional argument', 'run tc-daemon --help for usage');
  const { host, port } = parseListen(args.listen);
  const auth = args.auth;
  if (auth !== undefined && (!/^[^:]+:.+$/.test(auth) || auth.length > 1024)) throw new UsageError('--auth must be user:password');
  const bt = args.port;
  if (!Number.isInteger(bt) || bt < 0 || bt > 65535) throw new UsageError('--port must be in 0..65535');
  const roots = (args['download-root'] ?? []).map((r) => resolve(io.cwd, String(r)));
  return {
    listenHost: host,
    listenPort: port,
    state: args.state !== undefined ? resolve(io.cwd, args.state) : defaultStateDir(io.env),
    auth,
    roots: roots.length > 0 ? roots : [resolve(homedir(), 'Downloads')],
    port: bt,
    allowPrivateUrls: args['allow-private-urls'],
    hosts: (args['allow-host'] ?? []).map(String),
    verbose: args.verbose,
  };
}
