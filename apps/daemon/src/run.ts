import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { CommandError, ExitCode, reportError, reportWarning, sanitize, type Io } from '@tc/cli';
import { DaemonError, DaemonHandler, DownloadRoots, httpServer, Registry, StateDir, type DaemonErrorCode } from '@tc/daemon';
import { Session } from '@tc/engine';
import { parseDaemonArgs, type DaemonArgs } from './args.js';

/** The daemon's own codes in the shared exit table (mapped here: @tc/cli does not know this package). */
const EXIT: Readonly<Record<DaemonErrorCode, ExitCode>> = {
  DAEMON_BAD_REQUEST: ExitCode.USAGE,
  DAEMON_NOT_FOUND: ExitCode.FAILURE,
  DAEMON_DUPLICATE: ExitCode.FAILURE,
  DAEMON_FORBIDDEN_PATH: ExitCode.USAGE,
  DAEMON_PRIVATE_ADDRESS: ExitCode.USAGE,
  DAEMON_LOCKED: ExitCode.USAGE,
  DAEMON_STATE_IO: ExitCode.DISK,
  DAEMON_TOO_LARGE: ExitCode.BAD_INPUT,
  DAEMON_NOT_RUNNING: ExitCode.FAILURE,
};

function asCommandError(e: unknown): unknown {
  if (e instanceof DaemonError) return new CommandError(e.message, EXIT[e.code], { cause: e });
  return e;
}

/** The Host names a request may carry: the bind address, and the loopback names when bound to loopback. */
function hostsFor(args: DaemonArgs): string[] {
  const h = args.listenHost.toLowerCase();
  const loop = h === 'localhost' || h.startsWith('127.') || h === '::1';
  const wildcard = h === '0.0.0.0' || h === '::';
  return [h, ...(loop || wildcard ? ['localhost', '127.0.0.1', '::1'] : []), ...args.hosts];
}

/** `tc-daemon`: serves until SIGTERM/SIGINT, then stops every torrent (resume data saved) and exits 0. */
export async function run(argv: string[], io: Io): Promise<number> {
  const args = await parseDaemonArgs(argv, io);
  if (args === undefined) return ExitCode.OK;
  let state: StateDir;
  try {
    state = await StateDir.open(args.state);
  } catch (e) {
    return reportError(io, asCommandError(e), { verbose: args.verbose });
  }
  let session: Session | undefined;
  let registry: Registry | undefined;
  try {
    const roots = await DownloadRoots.create(args.roots);
    let auth = args.auth;
    if (auth === undefined) {
      auth = await state.readAuth();
      if (auth === undefined) {
        auth = `tc:${randomBytes(18).toString('base64url')}`;
        await state.writeAuth(auth);
        // Printed this once; it stays in the state folder (mode 0600) for the next starts.
        io.stdout.write(`generated credentials (kept in ${sanitize(args.state)}/auth): ${auth}\n`);
      }
    }
    session = await Session.create({ port: args.port });
    session.on('warning', (w) => {
      if (args.verbose) reportWarning(io, sanitize(w.message));
    });
    const opened = await Registry.open({ session, state, roots, allowPrivateUrls: args.allowPrivateUrls });
    registry = opened.registry;
    if (opened.skipped > 0) reportWarning(io, `${opened.skipped} torrent(s) of the list could not be read back and were left out`);
    const handler = new DaemonHandler({ registry, auth, hosts: hostsFor(args) });
    const server = httpServer(handler);
    server.listen(args.listenPort, args.listenHost);
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e as Error))]);
    } catch (e) {
      throw new CommandError(`cannot listen on ${args.listenHost}:${args.listenPort}: ${(e as Error).message}`, ExitCode.NETWORK, { cause: e });
    }
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : args.listenPort;
    const shown = args.listenHost.includes(':') ? `[${args.listenHost}]` : args.listenHost;
    io.stdout.write(`listening on http://${shown}:${port}/ (peer port ${session.port}, ${registry.list().length} torrent(s), state ${sanitize(args.state)})\n`);
    if (io.signal !== undefined && !io.signal.aborted) await once(io.signal, 'abort');
    io.stderr.write('stopping: saving resume data\n');
    server.close();
    server.closeAllConnections();
    return ExitCode.OK;
  } catch (e) {
    return reportError(io, asCommandError(e), { verbose: args.verbose });
  } finally {
    await registry?.close();
    await session?.close();
    await state.close();
  }
}
