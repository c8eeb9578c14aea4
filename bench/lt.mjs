// A python3-libtorrent peer (packages/testkit/py/lt_peer.py) for the benchmarks, which are plain
// JavaScript and cannot import testkit's TypeScript driver.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const PY = '/usr/bin/python3';
export const LT_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages/testkit/py/lt_peer.py');

/** Starts lt_peer.py; resolves with {port, stop, waitFor}. */
export function ltPeer(cfg) {
  const child = spawn(PY, [LT_SCRIPT, JSON.stringify({ mode: 'peer', port: 0, statusIntervalMs: 0, connectTo: [], ...cfg })], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const events = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    let e;
    try {
      e = JSON.parse(l);
    } catch {
      return;
    }
    events.push(e);
    for (const w of [...waiters]) if (w.name === e.event) (waiters.splice(waiters.indexOf(w), 1), w.resolve(e));
  });
  const waitFor = (name) =>
    new Promise((resolve, reject) => {
      const f = events.find((e) => e.event === name);
      if (f) return resolve(f);
      waiters.push({ name, resolve });
      child.once('exit', (c) => reject(new Error(`lt_peer exited ${c} before ${name}`)));
    });
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.stdin.end();
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
  return { child, waitFor, stop };
}
