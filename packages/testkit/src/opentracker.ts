import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmod, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './tmp.js';

/** A running opentracker (Debian package) on 127.0.0.1, HTTP and UDP on the same port number. */
export interface Opentracker {
  readonly port: number;
  readonly httpUrl: string;
  readonly udpUrl: string;
  /** Adds info-hashes to the whitelist and makes opentracker re-read it (SIGHUP). */
  allow(infoHashes: readonly (Buffer | string)[]): Promise<void>;
  stop(): Promise<void>;
}

const START_TRIES = 5;
const READY_TIMEOUT_MS = 5_000;

/** A port free on both TCP and UDP at 127.0.0.1 (bound to 0, then released: a race we retry on). */
export async function freeTcpUdpPort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
      });
    });
    const udpOk = await new Promise<boolean>((resolve) => {
      const u = createSocket('udp4');
      u.once('error', () => {
        u.close();
        resolve(false);
      });
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (udpOk) return port;
  }
}

function hex(h: Buffer | string): string {
  return typeof h === 'string' ? h.toLowerCase() : h.toString('hex');
}

function tcpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/**
 * Starts opentracker with a whitelist of the given info-hashes (Debian's build only tracks
 * whitelisted torrents). As root it chroots into the temp folder and drops to `nobody`, so the
 * folder is world-readable and the whitelist path is relative to it (INTEROP.md).
 */
export async function startOpentracker(infoHashes: readonly (Buffer | string)[]): Promise<Opentracker> {
  const dir = await tempDir('tc-opentracker-');
  await chmod(dir.path, 0o755);
  const list = new Set(infoHashes.map(hex));
  const writeList = async (): Promise<void> => {
    const file = join(dir.path, 'whitelist.txt');
    await writeFile(file, [...list].map((h) => h + '\n').join(''));
    await chmod(file, 0o644);
  };
  await writeList();
  for (let attempt = 0; attempt < START_TRIES; attempt++) {
    const port = await freeTcpUdpPort();
    const child: ChildProcess = spawn(
      'opentracker',
      ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-d', dir.path, '-u', 'nobody', '-w', 'whitelist.txt'],
      { cwd: dir.path, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let exited = false;
    const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
    child.stderr?.resume();
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let ready = false;
    while (!exited && Date.now() < deadline) {
      if (await tcpAnswers(port)) {
        ready = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!ready) {
      if (!exited) child.kill('SIGKILL');
      await exit;
      continue;
    }
    return {
      port,
      httpUrl: `http://127.0.0.1:${port}/announce`,
      udpUrl: `udp://127.0.0.1:${port}/announce`,
      async allow(more) {
        for (const h of more) list.add(hex(h));
        await writeList();
        child.kill('SIGHUP');
        await new Promise((r) => setTimeout(r, 100));
      },
      async stop() {
        if (!exited) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 2_000);
          await exit;
          clearTimeout(t);
        }
        await dir.cleanup();
      },
    };
  }
  await dir.cleanup();
  throw new Error(`opentracker did not start after ${START_TRIES} tries`);
}
