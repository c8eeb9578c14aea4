import { CommandError, ExitCode, UsageError } from '@tc/cli';
import { isEngineError, parseSeedGoal, Session, type PeerAddress, type SeedGoal } from '@tc/engine';

/** `--peer HOST:PORT` or `[v6]:PORT`. */
export function parsePeer(text: string): PeerAddress {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text) ?? /^([^:\s]+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--peer: cannot read ${JSON.stringify(text)} as HOST:PORT`, 'e.g. --peer 127.0.0.1:6881 or --peer [::1]:6881');
  }
  return { host: m[1]!, port };
}

/** `--seed [RATIO|TIME]`; a bad value is a usage error. */
export function readSeedGoal(text: string): SeedGoal {
  try {
    return parseSeedGoal(text);
  } catch (e) {
    if (isEngineError(e)) throw new UsageError(`--seed: ${e.message}`, 'e.g. --seed (until interrupted), --seed 2 (ratio), --seed 30m (time)');
    throw e;
  }
}

/** What a command's flags say about its session. */
export interface SessionFlags {
  /** `--port`: 0 picks a free one. */
  readonly port: number;
  /** `--listen ADDRESS`: only this address (IPv4 or IPv6); default every address. */
  readonly listen?: string | undefined;
  readonly limitDownBps?: number | undefined;
  readonly limitUpBps?: number | undefined;
}

/** Opens the one session of a command; a port that cannot be listened on is a network error (exit 4). */
export async function openSession(f: SessionFlags): Promise<Session> {
  const listen = f.listen;
  try {
    return await Session.create({
      port: f.port,
      ...(f.limitDownBps !== undefined ? { downloadRateBps: f.limitDownBps } : {}),
      ...(f.limitUpBps !== undefined ? { uploadRateBps: f.limitUpBps } : {}),
      ...(listen !== undefined ? (listen.includes(':') ? { listenHost4: null, listenHost6: listen } : { listenHost4: listen, listenHost6: null }) : {}),
    });
  } catch (e) {
    throw new CommandError(`cannot listen on port ${f.port}: ${(e as Error).message}`, ExitCode.NETWORK, { cause: e });
  }
}
