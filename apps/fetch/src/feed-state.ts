import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { UsageError, writeFileAtomic } from '@tc/cli';

/** Items remembered per feed: the newest are kept (a feed shows its last few dozen). */
export const MAX_SEEN_PER_FEED = 5000;
/** Feeds remembered in the state file. */
const MAX_FEEDS = 200;
/** A state file larger than this is not ours: started over. */
const MAX_STATE_BYTES = 16 * 1024 * 1024;

/** tc's state folder: $XDG_STATE_HOME/tc, else ~/.local/state/tc. A relative XDG_STATE_HOME is a usage error (exit 2). */
export function stateDir(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env.XDG_STATE_HOME;
  if (xdg !== undefined && xdg !== '') {
    if (!isAbsolute(xdg)) throw new UsageError(`XDG_STATE_HOME must be an absolute path, not ${JSON.stringify(xdg)}`);
    return join(xdg, 'tc');
  }
  return join(env.HOME || homedir(), '.local', 'state', 'tc');
}

interface StateDoc {
  schema: 1;
  feeds: Record<string, { seen: string[] }>;
}

/** What tc-fetch --feed has fetched from each feed (`fetch-feeds.json` in the state folder), saved atomically. */
export class FeedState {
  private constructor(
    readonly path: string,
    private readonly doc: StateDoc,
    private readonly feed: string,
    private readonly seen: Set<string>,
  ) {}

  /** Loads the file (a missing one is empty; an unreadable or foreign one is started over, with `warn`). */
  static async load(path: string, feed: string, warn: (message: string) => void): Promise<FeedState> {
    let doc: StateDoc = { schema: 1, feeds: Object.create(null) as StateDoc['feeds'] };
    try {
      const bytes = await readFile(path);
      if (bytes.length > MAX_STATE_BYTES) throw new Error(`larger than ${MAX_STATE_BYTES} bytes`);
      const parsed = JSON.parse(bytes.toString('utf8')) as unknown;
      if (!isStateDoc(parsed)) throw new Error('not a tc-fetch state file');
      doc = { schema: 1, feeds: Object.assign(Object.create(null) as StateDoc['feeds'], parsed.feeds) };
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'ENOENT') warn(`${path}: ${(e as Error).message}; starting a new one`);
    }
    return new FeedState(path, doc, feed, new Set(doc.feeds[feed]?.seen ?? []));
  }

  has(id: string): boolean {
    return this.seen.has(id);
  }

  add(id: string): void {
    this.seen.add(id);
  }

  async save(): Promise<void> {
    const seen = [...this.seen].slice(-MAX_SEEN_PER_FEED);
    delete this.doc.feeds[this.feed];
    this.doc.feeds[this.feed] = { seen };
    const names = Object.keys(this.doc.feeds);
    for (const old of names.slice(0, Math.max(0, names.length - MAX_FEEDS))) delete this.doc.feeds[old];
    await mkdir(dirname(this.path), { recursive: true });
    await writeFileAtomic(this.path, Buffer.from(`${JSON.stringify(this.doc, null, 1)}\n`));
  }
}

function isStateDoc(v: unknown): v is StateDoc {
  if (typeof v !== 'object' || v === null || (v as { schema?: unknown }).schema !== 1) return false;
  const feeds = (v as { feeds?: unknown }).feeds;
  if (typeof feeds !== 'object' || feeds === null) return false;
  return Object.values(feeds).every(
    (f) =>
      typeof f === 'object' &&
      f !== null &&
      Array.isArray((f as { seen?: unknown }).seen) &&
      (f as { seen: unknown[] }).seen.every((s) => typeof s === 'string'),
  );
}
