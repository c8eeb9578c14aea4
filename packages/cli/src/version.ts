import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** @tc/cli's own folder (dist/ or src/ is one below it): where the version and the checkout are found. */
const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The one version of every tc command: @tc/cli's package.json (all packages move together). */
export function tcVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' && /^[\w.+-]{1,40}$/.test(pkg.version) ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

function readSmall(path: string): string | undefined {
  try {
    return statSync(path).size <= 1 << 20 ? readFileSync(path, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The commit of the checkout the commands run from, read from `.git` without running git (a
 * worktree's `.git` file and packed refs included); undefined for an installed copy.
 */
export function buildCommit(from: string = PACKAGE_DIR): string | undefined {
  let dir = from;
  for (let depth = 0; depth < 12; depth++) {
    const dotGit = join(dir, '.git');
    if (existsSync(dotGit)) return commitOf(dotGit);
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
  return undefined;
}

function commitOf(dotGit: string): string | undefined {
  let gitDir = dotGit;
  const asFile = statSync(dotGit).isFile() ? readSmall(dotGit) : undefined;
  if (asFile !== undefined) {
    const m = /^gitdir: (.+)$/m.exec(asFile);
    if (!m) return undefined;
    gitDir = resolve(dirname(dotGit), m[1]!.trim());
  }
  const head = readSmall(join(gitDir, 'HEAD'))?.trim();
  if (head === undefined) return undefined;
  if (/^[0-9a-f]{40}$/.test(head)) return head;
  const ref = /^ref: (refs\/[\w./-]+)$/.exec(head)?.[1];
  if (ref === undefined || ref.includes('..')) return undefined;
  const common = readSmall(join(gitDir, 'commondir'))?.trim();
  for (const base of common ? [gitDir, resolve(gitDir, common)] : [gitDir]) {
    const loose = readSmall(join(base, ref))?.trim();
    if (loose !== undefined && /^[0-9a-f]{40}$/.test(loose)) return loose;
    const packed = readSmall(join(base, 'packed-refs'));
    const line = packed?.split('\n').find((l) => l.endsWith(` ${ref}`));
    if (line && /^[0-9a-f]{40} /.test(line)) return line.slice(0, 40);
  }
  return undefined;
}

/**
 * What `--version` prints: `tc-download 0.1.0 (node v20.19.0, commit 0123456789ab)`. The commit is
 * TC_BUILD_COMMIT when a packager sets it, else the checkout's, else `unknown`.
 */
export function versionText(name: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const fromEnv = env.TC_BUILD_COMMIT?.trim();
  const commit = fromEnv && /^[0-9a-f]{7,40}$/i.test(fromEnv) ? fromEnv.toLowerCase() : buildCommit();
  return `${name} ${tcVersion()} (node ${process.version}, commit ${commit ? commit.slice(0, 12) : 'unknown'})`;
}
