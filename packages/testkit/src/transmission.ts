import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * A Transmission 3.00 seeder (`transmission-cli`, Debian package transmission-cli) on 127.0.0.1.
 * Transmission never dials 127.0.0.0/8 peers from a tracker (INTEROP.md), so tests connect to it.
 * DHT, LPD, PEX, uTP and port mapping are off; encryption is tolerated so a plaintext BEP 3
 * handshake is accepted.
 */

export const TRANSMISSION_CLI = '/usr/bin/transmission-cli';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

/** A free TCP port on 127.0.0.1 (transmission-cli cannot listen on port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface TransmissionSeeder {
  readonly port: number;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export interface TransmissionOptions {
  readonly torrentPath: string;
  /** Folder that holds the torrent's data (transmission's download dir). */
  readonly dataDir: string;
  /** A private, empty folder for transmission's settings and resume files. */
  readonly configDir: string;
  readonly port?: number;
}

/**
 * Starts transmission-cli and resolves once it reports "Seeding". Transmission checks a torrent's
 * existing data on its own when the torrent is new to its config folder. No `-v`: transmission-cli
 * 3.00 starts the torrent and then asks for a verify, which stops the torrent for a moment. If its
 * 200 ms status loop sees the torrent stopped at that moment, it exits with code 0 (seen once in CI under load).
 */
export async function startTransmissionSeeder(opts: TransmissionOptions): Promise<TransmissionSeeder> {
  const port = opts.port ?? (await freePort());
  await mkdir(opts.configDir, { recursive: true });
  await writeFile(
    join(opts.configDir, 'settings.json'),
    JSON.stringify({
      'dht-enabled': false,
      'lpd-enabled': false,
      'pex-enabled': false,
      'utp-enabled': false,
      'port-forwarding-enabled': false,
      'bind-address-ipv4': '127.0.0.1',
      'bind-address-ipv6': '::1',
      'speed-limit-up-enabled': false,
      'speed-limit-down-enabled': false,
      'peer-port-random-on-start': false,
      encryption: 0,
      'message-level': 1,
    }),
  );
  // stdbuf: transmission-cli writes its status line with printf and does not flush on a pipe.
  const child = spawn('stdbuf', ['-o0', TRANSMISSION_CLI, '-g', opts.configDir, '-w', opts.dataDir, '-p', String(port), '-et', '-M', opts.torrentPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`transmission-cli not seeding after ${READY_TIMEOUT_MS} ms: ${out.slice(-500)}`)), READY_TIMEOUT_MS);
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        out = (out + s).slice(-4096);
        if (out.includes('Seeding')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr.setEncoding('utf8').on('data', (s: string) => {
        out = (out + s).slice(-4096);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`transmission-cli exited (${code}): ${out.slice(-500)}`));
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, process: child, stop };
}
