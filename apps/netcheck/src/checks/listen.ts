import { type CheckResult, type Clock, result } from './types.js';

/** tc's default listen port (6881), shared with tc-download and tc-seed, as TC_PORT is. */
export { DEFAULT_LISTEN_PORT } from '@tc/cli';
/** How many ports above the wanted one we try when suggesting a free one: bounded, never a scan. */
export const MAX_FREE_PORT_CANDIDATES = 20;

export type Transport = 'tcp' | 'udp';

/** Binds then releases a port; rejects with the system error (`code` EADDRINUSE, EACCES…). */
export type BindProbe = (transport: Transport, port: number) => Promise<void>;

/** Best effort: what holds a port ("transmission-daemon (pid 812)"), or undefined when it cannot be known. */
export type PortOwnerLookup = (transport: Transport, port: number) => Promise<string | undefined>;

export interface ListenDeps {
  readonly bind: BindProbe;
  readonly owner?: PortOwnerLookup;
  readonly clock: Clock;
}

interface BindOutcome {
  readonly transport: Transport;
  readonly ok: boolean;
  readonly code?: string;
  readonly owner?: string;
}

function errnoOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
}

async function tryBind(deps: ListenDeps, transport: Transport, port: number): Promise<BindOutcome> {
  try {
    await deps.bind(transport, port);
    return { transport, ok: true };
  } catch (e) {
    const code = errnoOf(e);
    let owner: string | undefined;
    if (code === 'EADDRINUSE' && deps.owner) owner = await deps.owner(transport, port).catch(() => undefined);
    return { transport, ok: false, code, ...(owner !== undefined ? { owner } : {}) };
  }
}

/** The first port above `port` free for both TCP and UDP, trying at most MAX_FREE_PORT_CANDIDATES. */
export async function suggestFreePort(deps: ListenDeps, port: number): Promise<number | undefined> {
  for (let p = Math.max(1024, port + 1), n = 0; p <= 65535 && n < MAX_FREE_PORT_CANDIDATES; p++, n++) {
    const [tcp, udp] = await Promise.all([tryBind(deps, 'tcp', p), tryBind(deps, 'udp', p)]);
    if (tcp.ok && udp.ok) return p;
  }
  return undefined;
}

function describe(o: BindOutcome, port: number): string {
  const name = o.transport.toUpperCase();
  if (o.ok) return `${name} ${port}: free, bound and released`;
  if (o.code === 'EADDRINUSE') return `${name} ${port}: in use${o.owner ? ` by ${o.owner}` : ' (by a process this user cannot see)'}`;
  if (o.code === 'EACCES') return `${name} ${port}: permission denied (ports below 1024 need privileges)`;
  return `${name} ${port}: cannot bind (${o.code ?? 'unknown error'})`;
}

/**
 * Check 2: can tc bind its TCP and UDP port. TCP is essential (peers connect to it, and the client
 * refuses to start without it); UDP only carries uTP and the DHT, so losing it is a warning.
 * `fallback`: the port is the default one (no --port, no TC_PORT), which tc-download and tc-seed
 * replace by a free port when it is taken: then a taken TCP port is a warning too (issue 17).
 */
export async function checkListen(deps: ListenDeps, port: number, opts: { readonly fallback?: boolean } = {}): Promise<CheckResult> {
  const started = deps.clock.mono();
  const [tcp, udp] = await Promise.all([tryBind(deps, 'tcp', port), tryBind(deps, 'udp', port)]);
  const detail = [describe(tcp, port), describe(udp, port)];
  const data: Record<string, unknown> = { port, tcp, udp };
  if (tcp.ok && udp.ok) {
    return result('listen', deps.clock, started, { status: 'ok', summary: `TCP and UDP port ${port} are free`, detail, data });
  }
  const free = await suggestFreePort(deps, port);
  data.suggestedPort = free ?? null;
  const instead = free !== undefined ? `use --port ${free} (free for TCP and UDP)` : 'pick another port with --port';
  const why = !tcp.ok && tcp.code === 'EACCES' ? 'use a port of 1024 or above' : undefined;
  const advice = why !== undefined ? `${why}; ${instead}` : tcp.owner || udp.owner ? `stop ${tcp.owner ?? udp.owner} or ${instead}` : instead;
  if (!tcp.ok && tcp.code === 'EADDRINUSE' && opts.fallback === true) {
    return result('listen', deps.clock, started, {
      status: 'warn',
      summary: `TCP port ${port} is taken: tc-download and tc-seed will listen on a free port instead`,
      detail,
      advice: `for a port you can forward, ${tcp.owner ? `stop ${tcp.owner} or ` : ''}${free !== undefined ? `set TC_PORT=${free} (or --port ${free})` : 'set TC_PORT (or --port)'}`,
      data,
    });
  }
  return result('listen', deps.clock, started, {
    status: tcp.ok ? 'warn' : 'fail',
    summary: tcp.ok ? `UDP port ${port} is not available (uTP and DHT will not work)` : `TCP port ${port} is not available`,
    detail,
    advice,
    data,
  });
}
