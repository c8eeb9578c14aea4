import { captureIo } from '@tc/cli';
import { httpScrape } from '@tc/tracker';
import { createSocket, type Socket } from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer } from '@tc/testkit/dns-server';
import { hasLibtorrent, startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { freeTcpUdpPort, startOpentracker, type Opentracker } from '@tc/testkit/opentracker';
import { runBin } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';
import { realDeps } from '../src/deps.js';
import { run } from '../src/run.js';

/**
 * Every check against real things on loopback (CI runs this inside a network namespace with only
 * `lo`): opentracker over HTTP and UDP, a dead port, a UDP "tracker" that never answers, a DNS
 * server that answers, says NXDOMAIN, or stays silent, a port held by another socket, and a
 * python3-libtorrent seeder for the handshake. Names are resolved only by the test DNS server.
 */

const LAUNCHER = fileURLToPath(new URL('../bin/tc-netcheck.js', import.meta.url));
/** Short per-probe bound so the dead and silent cases cost little. */
const PROBE_MS = '1500';

interface CheckJson {
  id: string;
  status: string;
  summary: string;
  detail: string[];
  advice: string | null;
  data: Record<string, unknown>;
}

async function runJson(args: string[]): Promise<{ code: number; doc: { ok: boolean; checks: CheckJson[] }; err: string }> {
  const io = captureIo({ env: { TC_PORT: '' } });
  const code = await run([...args, '--json'], io, { deps: realDeps });
  return { code, doc: JSON.parse(io.out()) as { ok: boolean; checks: CheckJson[] }, err: io.err() };
}

function check(doc: { checks: CheckJson[] }, id: string): CheckJson {
  const c = doc.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no ${id} check in ${JSON.stringify(doc.checks.map((x) => x.id))}`);
  return c;
}

describe('tc-netcheck on loopback', () => {
  let dns: DnsServer;
  let tracker: Opentracker;
  let seeder: LibtorrentPeer;
  let silent: Socket;
  let held: Server;
  /** A small HTTP tracker (node's http adds the Date header, which opentracker does not send). */
  let dated: HttpServer;
  let datedUrl: string;
  /** What `dated` sends as Date; undefined = the real time. */
  let datedHeader: string | undefined;
  let heldPort: number;
  let deadPort: number;
  let freePort: number;
  /** A UDP port nothing listens on: the kernel answers ICMP port unreachable. */
  let closedUdpPort: number;
  let t: TestTorrent;
  let halfDeadPath: string;
  let trackerUrls: string[];
  const dirs: { cleanup: () => Promise<void> }[] = [];

  beforeAll(async () => {
    expect(hasLibtorrent(), 'python3-libtorrent is needed (apt-get install python3-libtorrent)').toBe(true);
    dns = await startDnsServer({ records: { 'tracker.test': { a: ['127.0.0.1'] } }, silent: ['slow.test'] });
    tracker = await startOpentracker([]);
    deadPort = await freeTcpUdpPort();
    freePort = await freeTcpUdpPort();
    const gone = createSocket('udp4');
    await new Promise<void>((r) => gone.bind(0, '127.0.0.1', () => r()));
    closedUdpPort = gone.address().port;
    await new Promise<void>((r) => gone.close(() => r()));
    silent = createSocket('udp4');
    silent.on('message', () => undefined); // a "tracker" that reads and never answers
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    held = createServer();
    await new Promise<void>((r) => held.listen(0, '127.0.0.1', () => r()));
    heldPort = (held.address() as { port: number }).port;
    dated = createHttpServer((req, res) => {
      if (datedHeader !== undefined) res.setHeader('Date', datedHeader);
      // Scrape: no files. Announce: no peers, and BEP 24 `external ip` = 127.0.0.1.
      const body = req.url?.startsWith('/scrape')
        ? Buffer.from('d5:filesdee')
        : Buffer.concat([Buffer.from('d11:external ip4:'), Buffer.from([127, 0, 0, 1]), Buffer.from('8:intervali1800e5:peers0:e')]);
      res.end(body);
    });
    await new Promise<void>((r) => dated.listen(0, '127.0.0.1', () => r()));
    datedUrl = `http://127.0.0.1:${(dated.address() as { port: number }).port}/announce`;

    const dir = await tempDir('tc-netcheck-');
    dirs.push(dir);
    // The seeder's copy names only the live tracker; the copy we check has half-dead tiers. Same info, same hash.
    t = createTestTorrent({ name: 'netcheck-demo', length: 256 * 1024, announce: [tracker.httpUrl], seed: 11 });
    await tracker.allow([t.infoHash]);
    trackerUrls = [
      tracker.httpUrl,
      `udp://127.0.0.1:${silent.address().port}/announce`,
      `http://tracker.test:${tracker.port}/announce`,
      `http://127.0.0.1:${deadPort}/announce`,
      'udp://gone.test:6969/announce',
      'udp://slow.test:6969/announce',
      tracker.udpUrl,
      datedUrl,
    ];
    const half = createTestTorrent({ name: 'netcheck-demo', length: 256 * 1024, announce: trackerUrls, seed: 11 });
    expect(half.infoHashHex).toBe(t.infoHashHex);
    halfDeadPath = join(dir.path, 'half-dead.torrent');
    await writeFile(halfDeadPath, half.torrent);
    const seedTorrent = join(dir.path, 'seed.torrent');
    await writeFile(seedTorrent, t.torrent);
    await t.writeTo(dir.path);
    seeder = await startLibtorrent({ torrentPath: seedTorrent, savePath: dir.path, seed: true });
    await seeder.waitFor('finished', undefined, 20_000);
    // Wait until the seeder's announce reached opentracker, so our announce gets it back (fails if it never does).
    await until(
      'the seeder to be listed by opentracker (a scrape with complete >= 1)',
      async () => ((await httpScrape(tracker.httpUrl, [t.infoHash]).catch(() => undefined))?.files.get(t.infoHashHex)?.complete ?? 0) >= 1,
      { timeoutMs: 10_000, everyMs: 100 },
    );
  }, 60_000);

  afterAll(async () => {
    await seeder?.stop();
    await tracker?.stop();
    await dns?.close();
    await new Promise<void>((r) => (silent ? silent.close(() => r()) : r()));
    await new Promise<void>((r) => (held ? held.close(() => r()) : r()));
    await new Promise<void>((r) => (dated ? dated.close(() => r()) : r()));
    for (const d of dirs) await d.cleanup();
  });

  it('checks a torrent whose trackers are half dead: every check, and exit 0 since downloads work', async () => {
    const { code, doc, err } = await runJson([halfDeadPath, '--dns-server', dns.server, '--probe-timeout', PROBE_MS, '--port', String(freePort)]);
    expect(err).toBe('');
    expect(doc.checks.map((c) => c.id)).toEqual(['addresses', 'listen', 'dns', 'trackers', 'peers', 'inbound', 'env']);

    expect(check(doc, 'listen').status).toBe('ok');

    const dnsCheck = check(doc, 'dns');
    expect(dnsCheck.status).toBe('warn');
    const hosts = Object.fromEntries(
      (dnsCheck.data.hosts as { host: string; outcome: { kind: string; code?: string; addresses?: string[] } }[]).map((h) => [h.host, h.outcome]),
    );
    expect(hosts['tracker.test']).toEqual({ kind: 'resolved', addresses: ['127.0.0.1'] });
    expect(hosts['gone.test']).toEqual({ kind: 'nxdomain', code: 'ENOTFOUND' });
    expect(hosts['slow.test']).toMatchObject({ kind: 'resolver', code: 'ETIMEOUT' });
    expect(hosts['127.0.0.1']).toEqual({ kind: 'literal', addresses: ['127.0.0.1'] });
    expect(dns.queries.some((q) => q.name === 'tracker.test')).toBe(true);

    const trackers = check(doc, 'trackers');
    expect(trackers.status).toBe('warn');
    const states = Object.fromEntries((trackers.data.trackers as { url: string; state: string; code?: string; connectMs?: number }[]).map((o) => [o.url, o]));
    expect(states[tracker.httpUrl]).toMatchObject({ state: 'alive' });
    expect(states[tracker.udpUrl]).toMatchObject({ state: 'alive' });
    expect(states[tracker.udpUrl]!.connectMs).toBeTypeOf('number');
    expect(states[`http://tracker.test:${tracker.port}/announce`]).toMatchObject({ state: 'alive' });
    expect(states[`http://127.0.0.1:${deadPort}/announce`]).toMatchObject({ state: 'dead', code: 'TRACKER_REFUSED' });
    expect(states[trackerUrls[1]!]).toMatchObject({ state: 'dead', code: 'TRACKER_TIMEOUT' });
    expect(states['udp://gone.test:6969/announce']).toMatchObject({ state: 'dead', code: 'TRACKER_DNS' });
    expect(states['udp://slow.test:6969/announce']).toMatchObject({ state: 'dead', code: 'TRACKER_DNS' });
    expect(states[datedUrl]).toMatchObject({ state: 'alive' });
    expect(trackers.data.aliveTiers).toBe(4);
    expect(trackers.summary).toBe('4 of 8 tiers alive (4 of 8 trackers answered)');

    const peers = check(doc, 'peers');
    expect(peers.status).toBe('ok');
    expect(peers.data.answered).toBeGreaterThanOrEqual(1);
    const answered = (peers.data.peers as { port: number; state: string; client?: string }[]).find((p) => p.port === seeder.port);
    expect(answered).toMatchObject({ state: 'ok' });
    expect(answered!.client).toMatch(/libtorrent/i);
    // Our own announce comes back from the tracker; we never dial ourselves.
    expect((peers.data.peers as { port: number }[]).every((p) => p.port !== freePort)).toBe(true);

    const inbound = check(doc, 'inbound');
    expect(inbound.status).toBe('ok');
    expect(inbound.data.external).toEqual(['127.0.0.1']);
    const sources = (inbound.data.reports as { source: string }[]).map((r) => r.source);
    expect(sources).toContain(datedUrl); // BEP 24 from the HTTP tracker
    expect(sources).toContain(`peer 127.0.0.1:${seeder.port}`); // BEP 10 yourip from libtorrent

    const env = check(doc, 'env');
    expect(env.status).toBe('ok');
    expect(Math.abs(env.data.clockSkewMs as number)).toBeLessThan(5_000);

    // Loopback only (the namespace) is a warning, not a failure: downloads from these peers work.
    expect(['ok', 'warn']).toContain(check(doc, 'addresses').status);
    expect(doc.ok).toBe(true);
    expect(code).toBe(0);
  }, 60_000);

  it('says a port is held by another process, suggests a free one, and exits 4 (a network problem, CLI.md)', async () => {
    const { code, doc } = await runJson(['--only', 'listen', '--port', String(heldPort)]);
    expect(code).toBe(4);
    const listen = check(doc, 'listen');
    expect(listen.status).toBe('fail');
    expect(listen.detail[0]).toMatch(new RegExp(`^TCP ${heldPort}: in use by .*pid ${process.pid}$`));
    expect(listen.data.suggestedPort).toBeTypeOf('number');
    expect(listen.advice).toMatch(/use --port \d+/);
  });

  it('fails when no tracker answers: a dead port and a silent UDP tracker', async () => {
    const { code, doc } = await runJson([
      '--tracker',
      `http://127.0.0.1:${deadPort}/announce`,
      '--tracker',
      `udp://127.0.0.1:${silent.address().port}/announce`,
      '--only',
      'trackers',
      '--probe-timeout',
      '600',
    ]);
    expect(code).toBe(4);
    expect(check(doc, 'trackers')).toMatchObject({ status: 'fail', summary: '0 of 2 tiers alive (0 of 2 trackers answered)' });
  });

  it('tells a closed UDP port (refused, at once) from a silent UDP tracker (timeout), in JSON and in the checklist', async () => {
    const closed = `udp://127.0.0.1:${closedUdpPort}/announce`;
    const quiet = `udp://127.0.0.1:${silent.address().port}/announce`;
    // 3 s per probe: the first UDP retransmission comes after 1 s (a third), so a refusal under 1 s is the kernel's, not a timer's.
    const { doc } = await runJson(['--tracker', closed, '--tracker', quiet, '--tracker', tracker.udpUrl, '--only', 'trackers', '--probe-timeout', '3000']);
    const trackers = check(doc, 'trackers');
    const states = Object.fromEntries((trackers.data.trackers as { url: string; state: string; code?: string; ms: number }[]).map((o) => [o.url, o]));
    expect(states[closed]).toMatchObject({ state: 'dead', code: 'TRACKER_REFUSED' });
    expect((states[closed] as unknown as { message: string }).message).toMatch(/^port unreachable: nothing listens on UDP 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/);
    expect(states[closed]!.ms).toBeLessThan(1_000);
    expect(states[quiet]).toMatchObject({ state: 'dead', code: 'TRACKER_TIMEOUT' });
    expect(states[tracker.udpUrl]).toMatchObject({ state: 'alive' });
    expect(trackers.status).toBe('warn');
    expect(trackers.advice).toMatch(/^2 tracker\(s\) are dead \(1 refused, meaning nothing listens on the port/);

    const io = captureIo({ env: { TC_PORT: '' } });
    expect(await run(['--tracker', closed, '--tracker', tracker.udpUrl, '--only', 'trackers', '--color', 'never'], io, { deps: realDeps })).toBe(0);
    const out = io.out();
    expect(out).toContain(`✗ ${closed}: port unreachable: nothing listens on UDP 127.0.0.1:${closedUdpPort} (ECONNREFUSED) (`);
    expect(out).toContain('→ 1 tracker(s) are dead (1 refused, meaning nothing listens on the port: the tracker is down or its URL names the wrong port)');
  });

  it('checks peers of a magnet link over UDP', async () => {
    const magnet = `magnet:?xt=urn:btih:${t.infoHashHex}&tr=${encodeURIComponent(tracker.udpUrl)}`;
    const { code, doc } = await runJson([magnet, '--only', 'peers,inbound', '--probe-timeout', PROBE_MS, '--port', String(freePort)]);
    expect(code).toBe(0);
    expect(check(doc, 'peers')).toMatchObject({ status: 'ok' });
    expect(check(doc, 'inbound').status).toBe('ok');
  });

  it("warns about a clock far off the trackers' Date and about proxies", async () => {
    datedHeader = new Date(Date.now() + 3 * 3600_000).toUTCString();
    try {
      const io = captureIo({ env: { TC_PORT: '', HTTP_PROXY: 'http://127.0.0.1:9/', NO_PROXY: '127.0.0.1' } });
      const code = await run(['--tracker', datedUrl, '--only', 'env', '--color', 'never'], io, { deps: realDeps });
      // --only env probes nothing, so no Date: run with trackers too.
      expect(code).toBe(0);
      expect(io.out()).toContain('tc does not use HTTP(S)_PROXY: 0 of 1 tracker URL(s) it would cover are contacted directly');
      const { doc } = await runJson(['--tracker', datedUrl, '--only', 'trackers,env']);
      const env = check(doc, 'env');
      expect(env.status).toBe('warn');
      expect(env.summary).toMatch(/^the clock is 3 h behind/);
      expect(env.advice).toMatch(/NTP/);
    } finally {
      datedHeader = undefined;
    }
  });

  it('stops at the overall --timeout', async () => {
    const { doc } = await runJson([
      '--tracker',
      `udp://127.0.0.1:${silent.address().port}/announce`,
      '--only',
      'trackers',
      '--timeout',
      '0.5',
      '--probe-timeout',
      '5000',
    ]);
    const trackers = check(doc, 'trackers');
    expect(trackers.status).toBe('fail');
    // Aborted by the overall deadline, not timed out by the 5 s probe bound (how soon: bench/deadlines.mjs).
    expect(trackers.data['trackers']).toEqual([expect.objectContaining({ code: 'TRACKER_ABORTED' })]);
  });

  it('runs as a command: launcher, --help, usage errors', async () => {
    const help = await runBin(LAUNCHER, ['--help'], { env: { TC_PORT: '' } });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--only');
    const bad = await runBin(LAUNCHER, ['--only', 'nope'], { env: { TC_PORT: '' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --only: unknown check "nope"/);
    const ok = await runBin(LAUNCHER, ['--only', 'addresses,env', '--tracker', tracker.httpUrl], { env: { TC_PORT: '' } });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('✓ Environment');
  });
});
