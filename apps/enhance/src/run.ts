import { realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  colours,
  CommandError,
  commandParser,
  ExitCode,
  parseCommand,
  positionals,
  readInputFile,
  reportError,
  reportWarning,
  UsageError,
  writeFileAtomic,
  writeJson,
  type Io,
} from '@tc/cli';
import { MAX_TORRENT_BYTES, parseMetainfo, PUBLIC_TRACKERS, toMagnet, toTorrentFile } from '@tc/codec';
import { enhanceJson, renderEnhance, type EnhanceResult } from './render.js';
import { checkTrackerUrl, mergeTiers, parseTrackerList } from './trackers.js';

const USAGE = `$0 FILE -o OUT [--tracker URL]... [--list FILE]... [--public]

Adds trackers to a .torrent and writes a new one whose info dictionary, and so info-hash, is
unchanged. The torrent's own tiers stay first; each --tracker becomes a tier of its own, a --list
file gives one URL a line with a blank line between tiers (# starts a comment), and --public adds
tc's built-in list of well-known public trackers, one a tier (nothing is added unasked: one of
the three is required). URLs already present are skipped.`;

const EPILOGUE = `OUT is written atomically (a temporary file in the same folder, fsync, rename).
OUT may not be FILE unless --in-place is given: replacing the only copy should be a decision.
Exit codes:
  0  written (or, with --magnet alone, printed)
  2  usage: a bad flag or tracker URL, a missing file, OUT = FILE, a private torrent without --force
  3  invalid or hostile torrent
  5  disk error`;

export async function run(argv: string[], io: Io): Promise<number> {
  const parser = commandParser('tc-enhance', USAGE)
    .option('output', { alias: 'o', type: 'string', describe: 'where to write the new .torrent' })
    .option('tracker', { alias: 't', type: 'string', array: true, default: [] as string[], describe: 'add this tracker (repeatable; each is a tier)' })
    .option('list', { type: 'string', array: true, default: [] as string[], describe: 'add the trackers of this file (repeatable)' })
    .option('public', { type: 'boolean', default: false, describe: `add tc's built-in list of ${PUBLIC_TRACKERS.length} well-known public trackers` })
    .option('magnet', { type: 'boolean', default: false, describe: 'print the new magnet link (writes OUT only when -o is given)' })
    .option('force', { type: 'boolean', default: false, describe: 'add trackers to a private torrent anyway' })
    .option('in-place', { type: 'boolean', default: false, describe: 'allow OUT to be FILE (without -o: write back to FILE)' })
    .example('$0 a.torrent -o b.torrent --public', "add tc's public trackers")
    .example('$0 a.torrent -o b.torrent -t URL', 'add one tracker')
    .example('$0 a.torrent --list trackers.txt --magnet', 'print a magnet link with more trackers')
    .epilogue(EPILOGUE);
  const args = await parseCommand(parser, argv, io);
  if (!args) return ExitCode.OK;
  const [input] = positionals(args, { command: 'tc-enhance', what: '.torrent file', min: 1, max: 1 }) as [string];
  let output = args.output;
  if (output === undefined && args.inPlace) output = input;
  if (output === undefined && !args.magnet) throw new UsageError('say where to write the result with -o OUT (or use --magnet)');
  if (output !== undefined && !args.inPlace && (await sameFile(io, input, output))) {
    throw new UsageError(`${output} is the input file`, 'write elsewhere, or add --in-place to replace it');
  }

  // Every tracker source is read and checked before the torrent, so a typo fails fast (exit 2).
  const extra: string[][] = args.tracker.map((u, i) => [checkTrackerUrl(u, `--tracker #${i + 1}`)]);
  for (const file of args.list) {
    let text: string;
    try {
      text = (await readInputFile(resolve(io.cwd, file), { maxBytes: 1024 * 1024 })).toString('utf8');
    } catch (e) {
      return reportError(io, e, { what: file, verbose: args.verbose });
    }
    extra.push(...parseTrackerList(text, file));
  }
  // Nothing is added unasked (issue 17): the built-in list only with --public.
  if (!args.public && args.tracker.length === 0 && args.list.length === 0) {
    throw new UsageError(
      `no trackers to add: give --tracker URL, --list FILE or --public (tc's built-in list of ${PUBLIC_TRACKERS.length} public trackers)`,
      'e.g. tc-enhance a.torrent -o b.torrent --public (or -t udp://tracker.example:1337/announce)',
    );
  }
  if (args.public) extra.push(...PUBLIC_TRACKERS.map((u) => [u]));

  let bytes: Buffer;
  try {
    bytes = await readInputFile(resolve(io.cwd, input), { maxBytes: MAX_TORRENT_BYTES });
  } catch (e) {
    return reportError(io, e, { what: input, verbose: args.verbose });
  }
  let parsed;
  try {
    parsed = parseMetainfo(bytes, { mode: 'lenient', allowV2Only: true });
  } catch (e) {
    return reportError(io, e, { what: input, verbose: args.verbose });
  }
  const before = parsed.metainfo;
  if (args.verbose) for (const w of parsed.warnings) reportWarning(io, `${input}: ${w.message}`);
  if (before.private && !args.force) {
    return reportError(
      io,
      new CommandError('is a private torrent: its tracker decides who may join, so trackers are not added', ExitCode.USAGE, {
        hint: 'add --force if you really mean to (the private flag stays set)',
      }),
      { what: input },
    );
  }

  const merged = mergeTiers(before.announceTiers, extra);
  const out = toTorrentFile(before, merged.tiers);
  // Belt and braces: read back what we are about to write; a changed info-hash would be a bug in tc.
  const after = parseMetainfo(out, { mode: 'lenient', allowV2Only: true }).metainfo;
  if (!after.infoHash.equals(before.infoHash) || !after.infoBytes.equals(before.infoBytes)) {
    throw new Error(`bug: the info-hash changed (${before.infoHashHex} → ${after.infoHashHex}); nothing written`);
  }

  if (output !== undefined) {
    try {
      await writeFileAtomic(resolve(io.cwd, output), out);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' ? 'permission denied' : undefined;
      const err = why ? new CommandError(`cannot write: ${why}`, ExitCode.DISK, { cause: e }) : e;
      return reportError(io, err, { what: output, verbose: args.verbose });
    }
  }
  const result: EnhanceResult = {
    input,
    output,
    infoHashBefore: before.infoHashHex,
    infoHashAfter: after.infoHashHex,
    infoHashV2: after.v2?.infoHashHex,
    private: before.private,
    tiers: merged.tiers,
    added: merged.added,
    duplicates: merged.duplicates,
    magnet: toMagnet(after),
  };
  if (args.json) writeJson(io, enhanceJson(result));
  else if (args.magnet) io.stdout.write(`${result.magnet}\n`);
  else io.stdout.write(renderEnhance(result, { chalk: colours(args.color, io, io.stdout), verbose: args.verbose }));
  return ExitCode.OK;
}

/** True when both names lead to one file (same path, a symlink, or a hard link). */
async function sameFile(io: Io, a: string, b: string): Promise<boolean> {
  const pa = resolve(io.cwd, a);
  const pb = resolve(io.cwd, b);
  if (pa === pb) return true;
  const [ra, rb] = await Promise.all([realpath(pa).catch(() => pa), realpath(pb).catch(() => pb)]);
  if (ra === rb) return true;
  const [sa, sb] = await Promise.all([stat(pa).catch(() => undefined), stat(pb).catch(() => undefined)]);
  return sa !== undefined && sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino;
}
