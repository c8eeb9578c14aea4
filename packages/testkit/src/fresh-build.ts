import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Builds an app (`tsc -p tsconfig.build.json`) when its `dist/bin.js` (or `dist/<entry>`) is missing or
 * older than its sources, so tests that run the built command never run a stale one. `turbo run test`
 * builds only dependencies (TOOLCHAIN pitfall 3); use from a vitest globalSetup.
 */
export function ensureBuilt(appDir: string, entry = 'bin.js'): void {
  let built = 0;
  try {
    built = statSync(join(appDir, 'dist', entry)).mtimeMs;
  } catch {
    built = 0;
  }
  if (built > 0 && built >= newestMtime(join(appDir, 'src'))) return;
  const tsc = createRequire(join(appDir, 'package.json')).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(appDir, 'tsconfig.build.json')], { stdio: 'inherit' });
}
