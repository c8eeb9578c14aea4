import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './transmission.js';

/** A running aria2c (Debian `aria2` 1.36) seeding one torrent on 127.0.0.1. */
export interface Aria2Seeder {
  readonly port: number;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 3_000;

export function hasAria2(): boolean {
  return spawnSync('aria2c', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port, or rejects after `timeoutMs`. */
export async function waitForTcp(port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && alive()) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/**
 * Starts aria2c seeding the data in `dataDir` (checked first) with DHT, LSD and PEX off, bound to
 * 127.0.0.1 (INTEROP.md flags). It announces to the torrent's trackers. Call `stop()` in afterAll.
 */
export async function startAria2Seeder(opts: { torrentPath: string; dataDir: string }): Promise<Aria2Seeder> {
  const port = await freePort();
  const child = spawn(
    'aria2c',
    [
      '--check-integrity=true',
      '--seed-ratio=0.0',
      '--enable-dht=false',
      '--enable-dht6=false',
      '--bt-enable-lpd=false',
      '--enable-peer-exchange=false',
      `--listen-port=${port}`,
      '--interface=127.0.0.1',
      '--file-allocation=none',
      '--summary-interval=0',
      '--console-log-level=warn',
      '--bt-tracker-interval=1',
      `--dir=${opts.dataDir}`,
      opts.torrentPath,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.resume();
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return; // already gone
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(t);
  };
  try {
    await waitForTcp(port, READY_TIMEOUT_MS, () => child.exitCode === null);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, process: child, stop };
}
