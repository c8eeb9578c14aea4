import { UsageError } from './exit-codes.js';

/**
 * tc's default listen port for TCP (peers) and UDP (uTP/DHT): 6881, the first of the BEP 3-era
 * 6881-6889 range that clients and port-forwarding guides still default to. Shared by tc-download,
 * tc-seed and tc-netcheck, as is the `TC_PORT` variable (issue 17).
 */
export const DEFAULT_LISTEN_PORT = 6881;

export interface ListenPort {
  readonly port: number;
  /** Neither --port nor TC_PORT was given: a command may fall back to a free port when it is taken. */
  readonly isDefault: boolean;
}

/**
 * The listen port: `--port` > `TC_PORT` > 6881. A bad value of either is a usage error (exit 2);
 * `allowZero` lets 0 mean "any free port".
 */
export function listenPort(flag: number | undefined, env: Readonly<Record<string, string | undefined>>, opts: { allowZero: boolean }): ListenPort {
  const min = opts.allowZero ? 0 : 1;
  const check = (value: unknown, what: string): number => {
    const n = typeof value === 'number' ? value : /^\d+$/.test(String(value)) ? Number(value) : NaN;
    if (!Number.isInteger(n) || n < min || n > 65535) throw new UsageError(`${what}: ${String(value)} is not a port (${min}-65535)`);
    return n;
  };
  if (flag !== undefined) return { port: check(flag, '--port'), isDefault: false };
  const fromEnv = env.TC_PORT;
  if (fromEnv !== undefined && fromEnv !== '') return { port: check(fromEnv, 'TC_PORT'), isDefault: false };
  return { port: DEFAULT_LISTEN_PORT, isDefault: true };
}
