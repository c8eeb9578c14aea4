import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BinResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** XDG_STATE_HOME of commands run by tests: never the user's own state folder. */
export const TEST_STATE_HOME = join(tmpdir(), 'tc-test-state');

/** How long one command run in a test may take before it is killed (and the test fails). */
const RUN_BIN_TIMEOUT_MS = 30_000;

/**
 * Runs a built `tc-*` launcher as a user would (`node apps/x/bin/tc-x.js …`): no colour, UTC, no
 * inherited TC_* settings (and no DHT router: TC_DHT_BOOTSTRAP='', TC_LSD=0; TC_PORT=0, a free port, since
 * tests run side by side), state (resume data, locks, the DHT table) under TEST_STATE_HOME unless the test
 * names its own, stdin closed. Resolves with the exit code and both streams.
 */
export function runBin(
  launcher: string,
  args: readonly string[],
  opts: {
    cwd?: string;
    env?: Record<string, string>;
    timeoutMs?: number;
    /** Each chunk as it arrives, e.g. to start a peer once the command says it listens. */
    onStdout?: (chunk: string) => void;
    onStderr?: (chunk: string) => void;
  } = {},
): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [launcher, ...args], {
      cwd: opts.cwd ?? process.cwd(),
      // No public DHT router and no LSD multicast from a test unless it asks (TC_DHT_BOOTSTRAP names loopback nodes).
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        NO_COLOR: '1',
        TZ: 'UTC',
        TC_DHT_BOOTSTRAP: '',
        TC_LSD: '0',
        TC_PORT: '0',
        XDG_STATE_HOME: TEST_STATE_HOME,
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      opts.onStdout?.(s);
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      opts.onStderr?.(s);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? RUN_BIN_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
