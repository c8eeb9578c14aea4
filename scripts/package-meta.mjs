#!/usr/bin/env node
// The publishing metadata of every package, from one place: the root package.json's version,
// license, repository and engines, applied to each packages/* and apps/* package.json (and checked
// against wire's CLIENT_VERSION, the version peers see). `node scripts/package-meta.mjs` writes
// them; `--check` only reports what differs and exits 1 (the tests run it).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
/** Workspace packages that are never published: test helpers, and the stub that stands in for an npm package. */
const UNPUBLISHED = new Set(['packages/testkit', 'packages/webrtc-stub']);
/** Files a package needs at run time besides dist/ and its README (read through import.meta.url). */
const EXTRA_FILES = { 'apps/fetch': ['catalog.json'], 'packages/daemon': ['ui'] };
/** Where wire keeps the version it tells peers (peer id, extended handshake, user agent). */
const CLIENT_VERSION_FILE = 'packages/wire/src/identity.ts';

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Every publishable package folder, relative to the root. */
export function publishableDirs() {
  const out = [];
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(ROOT, group)).sort()) {
      const dir = `${group}/${name}`;
      if (!UNPUBLISHED.has(dir) && existsSync(join(ROOT, dir, 'package.json'))) out.push(dir);
    }
  }
  return out;
}

/** The metadata fields `dir`'s package.json must have, in order, derived from the root's. */
function wanted(root, dir, pkg) {
  const files = ['dist', '!dist/**/*.test.*', '!dist/**/*.tsbuildinfo', 'README.md', ...(pkg.bin !== undefined ? ['bin'] : []), ...(EXTRA_FILES[dir] ?? [])];
  return {
    version: root.version,
    license: root.license,
    repository: { ...root.repository, directory: dir },
    engines: root.engines,
    files,
    publishConfig: { access: 'public' },
  };
}

/** The package.json with the wanted fields set (after `name`) and `private` dropped. */
function apply(pkg, fields) {
  const out = {};
  for (const [k, v] of Object.entries(pkg)) {
    if (k === 'private' || k in fields) continue;
    out[k] = v;
    if (k === 'name') Object.assign(out, fields);
  }
  return out;
}

export function check() {
  const root = readJson(join(ROOT, 'package.json'));
  const problems = [];
  for (const k of ['version', 'license', 'repository', 'engines']) if (root[k] === undefined) problems.push(`package.json: no ${k}`);
  const identity = readFileSync(join(ROOT, CLIENT_VERSION_FILE), 'utf8');
  const m = /CLIENT_VERSION = '([^']+)'/.exec(identity);
  if (m?.[1] !== root.version) problems.push(`${CLIENT_VERSION_FILE}: CLIENT_VERSION is ${m?.[1]}, the root version is ${root.version}`);
  const changes = [];
  for (const dir of publishableDirs()) {
    const path = join(ROOT, dir, 'package.json');
    const pkg = readJson(path);
    const next = apply(pkg, wanted(root, dir, pkg));
    if (JSON.stringify(next) !== JSON.stringify(pkg)) changes.push({ path, next });
    if (!existsSync(join(ROOT, dir, 'README.md'))) problems.push(`${dir}: no README.md`);
  }
  return { problems, changes };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const { problems, changes } = check();
  if (process.argv.includes('--check')) {
    for (const c of changes) problems.push(`${relative(ROOT, c.path)}: metadata differs from the root's (run node scripts/package-meta.mjs)`);
    for (const p of problems) console.error(p);
    process.exit(problems.length > 0 ? 1 : 0);
  }
  for (const c of changes) writeFileSync(c.path, `${JSON.stringify(c.next, null, 2)}\n`);
  for (const p of problems) console.error(p);
  console.log(`${changes.length} package.json files updated`);
  process.exit(problems.length > 0 ? 1 : 0);
}
