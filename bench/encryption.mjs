#!/usr/bin/env node
// What RC4 costs a whole download (issue 12): one python3-libtorrent seeder on 127.0.0.1 that
// accepts plaintext and MSE/PE connections (and selects RC4 whenever a peer offers it) serves a
// single-file torrent of 1 MiB pieces; round after round, tc-download plaintext, tc-download RC4, a
// libtorrent downloader plaintext and a libtorrent downloader with forced RC4 fetch it in turn.
// Prints medians, MB/s, CPU s/GiB and the RC4 / plaintext ratios for tc and for libtorrent.
//
//   node bench/encryption.mjs [--gib 1] [--rounds 3] [--contenders tc-plain,tc-rc4,lt-plain,lt-rc4] [--json] [--keep]
//                             [--profile DIR]   (a `node --cpu-prof` profile of each tc-download run into DIR)
//
// Run it inside a private network namespace so nothing leaves loopback:
//   unshare --net -- sh -c 'ip link set lo up && node bench/encryption.mjs'
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fileSha1, makeData, median, timed } from './common.mjs';
import { LT_SCRIPT, PY } from './lt.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const TC_BIN = join(root, 'apps/download/bin/tc-download.js');
const PIECE = 1024 * 1024;
const ALL = ['tc-plain', 'tc-rc4', 'lt-plain', 'lt-rc4'];

const { values: opt } = parseArgs({
  options: {
    gib: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    contenders: { type: 'string', default: ALL.join(',') },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    profile: { type: 'string' },
  },
});
const SIZE = Math.round(Number(opt.gib) * 1024 ** 3);
const ROUNDS = Number(opt.rounds);
const CONTENDERS = opt.contenders.split(',').filter(Boolean);
for (const c of CONTENDERS) if (!ALL.includes(c)) throw new Error(`unknown contender ${c} (known: ${ALL.join(', ')})`);
if (!(SIZE > 0) || !(ROUNDS >= 1)) throw new Error('--gib and --rounds must be positive');
const log = (s) => process.stderr.write(`${s}\n`);

/**
 * libtorrent's MSE settings (INTEROP.md): policy 0 forced, 1 enabled, 2 disabled; level 1 plaintext,
 * 2 RC4, 3 both. The seeder takes both kinds of handshake and, as MSE responder, keeps RC4 when a
 * peer's crypto_provide offers RC4 and plaintext (`prefer_rc4`): tc under `--encryption require`
 * offers both (policy.ts `mseMethods`), and libtorrent's default would select plaintext for it.
 */
const SEEDER_SETTINGS = { in_enc_policy: 1, out_enc_policy: 1, allowed_enc_level: 3, prefer_rc4: true };
const LT_PLAIN = { in_enc_policy: 2, out_enc_policy: 2, allowed_enc_level: 1 };
const LT_RC4 = { in_enc_policy: 0, out_enc_policy: 0, allowed_enc_level: 2 };

/** What each contender's connection to the seeder must be, as the seeder sees it. */
const EXPECTED = { 'tc-plain': 'plain', 'tc-rc4': 'rc4', 'lt-plain': 'plain', 'lt-rc4': 'rc4' };

/**
 * The seeder: lt_peer.py's session settings (loopback, uTP off, high_performance_seed) plus ours.
 * It polls its peers every 100 ms and, on {"cmd":"enc"}, prints how each peer seen since the last
 * such command was connected: "rc4", "mse-plain" (MSE handshake, plaintext selected) or "plain".
 */
const SEEDER_PY = `
import json, os, queue, sys, threading
sys.path.insert(0, os.path.dirname(${JSON.stringify(LT_SCRIPT)}))
import libtorrent as lt
from lt_peer import settings, emit, stdin_reader
cfg = json.loads(sys.argv[1])
ses = lt.session(settings(0, cfg["settings"]))
atp = lt.add_torrent_params()
atp.ti = lt.torrent_info(cfg["torrentPath"])
atp.save_path = cfg["savePath"]
atp.flags = (atp.flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused) | lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_dht
h = ses.add_torrent(atp)
cmds = queue.Queue()
threading.Thread(target=stdin_reader, args=(cmds,), daemon=True).start()
listening = finished = False
seen = {}
while True:
    ses.wait_for_alert(100)
    for a in ses.pop_alerts():
        if isinstance(a, lt.listen_succeeded_alert) and not listening:
            listening = True
            emit({"event": "listening", "port": ses.listen_port()})
        elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
            emit({"event": "error", "message": a.message()})
    if not finished and h.status().state == lt.torrent_status.states.seeding:
        finished = True
        emit({"event": "finished"})
    for p in h.get_peer_info():
        kind = "rc4" if p.flags & lt.peer_info.rc4_encrypted else "mse-plain" if p.flags & lt.peer_info.plaintext_encrypted else "plain"
        seen["%s:%d" % p.ip] = kind
    try:
        while True:
            c = cmds.get_nowait()
            if c.get("cmd") == "quit":
                sys.exit(0)
            if c.get("cmd") == "enc":
                emit({"event": "enc", "peers": seen})
                seen = {}
    except queue.Empty:
        pass
`;

/** Starts the seeder; resolves once it listens and has checked its data. */
async function startSeeder(torrentPath, savePath) {
  const child = spawn(PY, ['-c', SEEDER_PY, JSON.stringify({ torrentPath, savePath, settings: SEEDER_SETTINGS })], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiters = new Map();
  const events = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    let e;
    try {
      e = JSON.parse(l);
    } catch {
      return;
    }
    if (e.event === 'error') log(`seeder: ${e.message}`);
    const w = waiters.get(e.event);
    if (w) (waiters.delete(e.event), w.resolve(e));
    else events.push(e);
  });
  let exitCode;
  child.once('exit', (c) => {
    exitCode = c;
    for (const [name, w] of waiters) w.reject(new Error(`seeder exited ${c} before ${name}`));
    waiters.clear();
  });
  const waitFor = (name) =>
    new Promise((resolve, reject) => {
      const i = events.findIndex((e) => e.event === name);
      if (i >= 0) return resolve(events.splice(i, 1)[0]);
      if (exitCode !== undefined) return reject(new Error(`seeder exited ${exitCode} before ${name}`));
      waiters.set(name, { resolve, reject });
    });
  const { port } = await waitFor('listening');
  await waitFor('finished');
  return {
    port,
    /** How each peer since the last call was connected. */
    async encryption() {
      child.stdin.write(`${JSON.stringify({ cmd: 'enc' })}\n`);
      return (await waitFor('enc')).peers;
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

function tcDownload(encryption) {
  return ({ torrent, port, out }) =>
    timed(process.execPath, [
      ...(opt.profile ? ['--cpu-prof', '--cpu-prof-dir', opt.profile, '--cpu-prof-name', `tc-${encryption}-${Date.now()}.cpuprofile`] : []),
      TC_BIN,
      torrent,
      '-o',
      out,
      '--peer',
      `127.0.0.1:${port}`,
      '--listen',
      '127.0.0.1',
      '--port',
      '0',
      // The seeder has uTP off: dialling TCP at once keeps uTP's head start out of the figure.
      '--transport',
      'tcp',
      '--encryption',
      encryption,
      '--no-dht',
      '--no-lsd',
      '--quiet',
      '--first-peer-timeout',
      '30',
    ]);
}

function ltDownload(settings) {
  // lt_peer.py prints "finished", then we close its stdin: a wrapper makes it one timed process.
  return ({ torrent, port, out }) => {
    const cfg = { mode: 'peer', torrentPath: torrent, savePath: out, port: 0, statusIntervalMs: 0, connectTo: [{ ip: '127.0.0.1', port }], settings };
    const script = `
import json,subprocess,sys
p=subprocess.Popen([${JSON.stringify(PY)},${JSON.stringify(LT_SCRIPT)},${JSON.stringify(JSON.stringify(cfg))}],stdin=subprocess.PIPE,stdout=subprocess.PIPE)
for line in p.stdout:
    if json.loads(line).get("event")=="finished": break
p.stdin.close(); p.wait()`;
    return timed(PY, ['-c', script]);
  };
}

const runners = { 'tc-plain': tcDownload('off'), 'tc-rc4': tcDownload('require'), 'lt-plain': ltDownload(LT_PLAIN), 'lt-rc4': ltDownload(LT_RC4) };

const load = () => loadavg()[0].toFixed(1);

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'tc-bench-enc-'));
  const gib = (SIZE / 1024 ** 3).toFixed(2);
  log(`bench/encryption: ${gib} GiB, 1 MiB pieces, ${ROUNDS} rounds, ${CONTENDERS.join(', ')}; load average ${load()}`);
  const { file, torrent } = await makeData(dir, SIZE, PIECE);
  const seeder = await startSeeder(torrent, dirname(file));
  log(`seeder ready on 127.0.0.1:${seeder.port}`);
  const results = Object.fromEntries(CONTENDERS.map((c) => [c, []]));
  const loads = [load()];
  const expectedSha1 = await fileSha1(file);
  try {
    for (let r = 0; r < ROUNDS; r++) {
      // The order rotates so that no contender always runs first (or last) in a round.
      const order = CONTENDERS.map((_, i) => CONTENDERS[(i + r) % CONTENDERS.length]);
      for (const c of order) {
        const out = join(dir, `out-${c}-${r}`);
        await mkdir(out, { recursive: true });
        await seeder.encryption(); // forget earlier peers
        const res = await runners[c]({ torrent, port: seeder.port, out });
        const peers = Object.values(await seeder.encryption());
        if (peers.length === 0 || peers.some((k) => k !== EXPECTED[c]))
          throw new Error(`${c}: the seeder saw ${JSON.stringify(peers)}, expected ${EXPECTED[c]} connections`);
        const got = await stat(join(out, 'bench.bin'));
        if (got.size !== SIZE) throw new Error(`${c}: wrong size ${got.size}`);
        if (r === 0 && (await fileSha1(join(out, 'bench.bin'))) !== expectedSha1) throw new Error(`${c}: data differs`);
        results[c].push({ ...res, link: EXPECTED[c] });
        log(
          `round ${r + 1} ${c.padEnd(9)} ${res.wall.toFixed(2)} s  ${(SIZE / 1e6 / res.wall).toFixed(0)} MB/s  RSS ${res.rssMb.toFixed(0)} MB  CPU ${res.cpu.toFixed(2)} s  (${peers.join(',')}; load ${load()})`,
        );
        await rm(out, { recursive: true, force: true });
      }
      loads.push(load());
    }
  } finally {
    await seeder.stop();
    if (!opt.keep) await rm(dir, { recursive: true, force: true });
  }
  const summary = {};
  for (const c of CONTENDERS) {
    const rs = results[c];
    const wallS = median(rs.map((x) => x.wall));
    summary[c] = {
      wallS,
      mbPerS: SIZE / 1e6 / wallS,
      peakRssMb: Math.max(...rs.map((x) => x.rssMb)),
      cpuSPerGiB: median(rs.map((x) => x.cpu)) / (SIZE / 1024 ** 3),
    };
  }
  const lines = [`RC4 vs plaintext: median of ${ROUNDS} rounds, ${gib} GiB from one libtorrent seeder, node ${process.version}`];
  lines.push(`(load average over the run: ${loads.join(', ')})`);
  lines.push('contender    wall s    MB/s   peak RSS MB   CPU s/GiB');
  for (const c of CONTENDERS) {
    const s = summary[c];
    lines.push(
      `${c.padEnd(12)} ${s.wallS.toFixed(2).padStart(6)} ${s.mbPerS.toFixed(0).padStart(7)} ${s.peakRssMb.toFixed(0).padStart(13)} ${s.cpuSPerGiB.toFixed(2).padStart(11)}`,
    );
  }
  const ratios = {};
  for (const who of ['tc', 'lt']) {
    const p = summary[`${who}-plain`];
    const e = summary[`${who}-rc4`];
    if (!p || !e) continue;
    ratios[who] = { throughput: e.mbPerS / p.mbPerS, cpu: e.cpuSPerGiB / p.cpuSPerGiB };
    const cost = (1 - ratios[who].throughput) * 100;
    // The same ratio round by round (a round's downloads ran minutes apart at most): the spread shows the noise.
    ratios[who].perRound = results[`${who}-plain`].map((x, r) => x.wall / results[`${who}-rc4`][r].wall);
    lines.push(
      `${who === 'tc' ? 'tc' : 'libtorrent'} RC4 / plaintext: throughput ${ratios[who].throughput.toFixed(2)} (RC4 costs ${cost.toFixed(0)} %), CPU ${ratios[who].cpu.toFixed(2)}; per round ${ratios[who].perRound.map((x) => x.toFixed(2)).join(', ')}`,
    );
  }
  if (summary['tc-rc4'] && summary['lt-rc4'])
    lines.push(`tc RC4 / libtorrent RC4 throughput: ${(summary['tc-rc4'].mbPerS / summary['lt-rc4'].mbPerS).toFixed(2)}`);
  if (ratios.tc) lines.push(`goal (RC4 costs tc at most 25 %): ${ratios.tc.throughput >= 0.75 ? 'met' : 'not met'}`);
  if (opt.json) process.stdout.write(`${JSON.stringify({ sizeBytes: SIZE, rounds: ROUNDS, loads, summary, ratios, results })}\n`);
  else process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e) => {
  log(`bench failed: ${e.stack ?? e}`);
  process.exit(1);
});
