import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

const LAUNCHER = resolve(import.meta.dirname, '..', 'bin', 'tc-daemon.js');

export interface Running {
  readonly child: ChildProcess;
  readonly rpcPort: number;
  readonly peerPort: number;
  readonly exited: Promise<number | null>;
}

/** Starts tc-daemon on loopback with a free RPC port; resolves once it says where it listens. */
export function startDaemon(work: string, auth: string): Promise<Running> {
  const child = spawn(
    process.execPath,
    [LAUNCHER, '--listen', '127.0.0.1:0', '--port', '0', '--auth', auth, '--state', join(work, 'state'), '--download-root', join(work, 'root')],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  return new Promise((resolveStart, reject) => {
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\/ \(peer port (\d+)/.exec(out);
      if (m !== null) resolveStart({ child, rpcPort: Number(m[1]), peerPort: Number(m[2]), exited });
    });
    void exited.then((code) => reject(new Error(`tc-daemon exited ${code}: ${err}`)));
  });
}
