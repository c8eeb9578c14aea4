import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freeTcpPort, waitForTcp } from './aria2.js';
import { tempDir } from './tmp.js';

/** A transmission-cli 3.00 seeding one torrent on 127.0.0.1. It never dials 127.x peers from trackers (INTEROP.md): connect to it. */
export interface TransmissionSeeder {
  readonly port: number;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 3_000;

export function hasTransmission(): boolean {
  return spawnSync('transmission-cli', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Starts transmission-cli on the data in `dataDir` (it verifies, then seeds). DHT, LPD, PEX, uTP and
 * port mapping are off in a private config dir; it binds to 127.0.0.1.
 */
export async function startTransmissionSeeder(opts: { torrentPath: string; dataDir: string }): Promise<TransmissionSeeder> {
  const port = await freeTcpPort();
  const conf = await tempDir('tc-transmission-');
  await mkdir(conf.path, { recursive: true });
  const settings = {
    'dht-enabled': false,
    'lpd-enabled': false,
    'pex-enabled': false,
    'utp-enabled': false,
    'port-forwarding-enabled': false,
    'bind-address-ipv4': '127.0.0.1',
    'bind-address-ipv6': '::1',
    'peer-port': port,
    'peer-port-random-on-start': false,
    'speed-limit-down-enabled': false,
    'speed-limit-up-enabled': false,
    'alt-speed-enabled': false,
    'ratio-limit-enabled': false,
    'idle-seeding-limit-enabled': false,
    'blocklist-enabled': false,
    encryption: 1,
    'message-level': 1,
  };
  await writeFile(join(conf.path, 'settings.json'), JSON.stringify(settings, null, 2));
  await chmod(conf.path, 0o755);
  const child = spawn('transmission-cli', ['-g', conf.path, '-w', opts.dataDir, '-p', String(port), '-M', '-D', '-U', '-ep', opts.torrentPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.resume();
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(t);
    }
    await conf.cleanup();
  };
  try {
    await waitForTcp(port, READY_TIMEOUT_MS, () => child.exitCode === null);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, process: child, stop };
}
