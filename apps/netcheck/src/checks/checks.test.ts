import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { addressScope, checkAddresses, localAddresses } from './addresses.js';
import { classify, dnsResult, resolveHost, type DnsResolver } from './dns.js';
import { bypassesProxy, checkEnvironment, proxyFor, proxySettings, skewFromDateHeader } from './environment.js';
import { inboundResult } from './inbound.js';
import { checkListen, type BindProbe } from './listen.js';
import { peersResult, pickPeers } from './peers.js';
import { trackersResult } from './trackers.js';
import { worst, type Clock } from './types.js';

const clock: Clock = { mono: () => 0, wall: () => 0 };
const errno = (code: string): Error => Object.assign(new Error(code), { code });

describe('addresses', () => {
  it('classifies scopes', () => {
    expect(addressScope('10.1.2.3', 4)).toBe('private');
    expect(addressScope('172.20.0.1', 4)).toBe('private');
    expect(addressScope('172.32.0.1', 4)).toBe('global');
    expect(addressScope('192.168.1.1', 4)).toBe('private');
    expect(addressScope('100.64.0.1', 4)).toBe('cgnat');
    expect(addressScope('169.254.1.1', 4)).toBe('link-local');
    expect(addressScope('127.0.0.1', 4)).toBe('loopback');
    expect(addressScope('8.8.8.8', 4)).toBe('global');
    expect(addressScope('2001:db8::1', 6)).toBe('global');
    expect(addressScope('fe80::1%eth0', 6)).toBe('link-local');
    expect(addressScope('fd00::2', 6)).toBe('unique-local');
    expect(addressScope('::1', 6)).toBe('loopback');
  });

  const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
    family === 'IPv4'
      ? { address, family, internal, netmask: '', mac: '00:00:00:00:00:00', cidr: null }
      : { address, family, internal, netmask: '', mac: '00:00:00:00:00:00', cidr: null, scopeid: 0 };

  it('warns when only loopback exists, and reports global IPv6', () => {
    const lo = { lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)] };
    expect(checkAddresses(lo, clock).status).toBe('warn');
    const lan = { ...lo, eth0: [iface('192.168.1.5', 'IPv4'), iface('2001:db8::5', 'IPv6')] } as never;
    const r = checkAddresses(lan, clock);
    expect(r.status).toBe('ok');
    expect(r.summary).toBe('private IPv4 (behind NAT), global IPv6');
    expect(r.data.ipv6Global).toBe(true);
    expect(localAddresses(lan).map((a) => a.interface)).toEqual(['eth0', 'eth0', 'lo', 'lo']);
    expect(checkAddresses({}, clock).status).toBe('fail');
  });
});

describe('listen', () => {
  it('is ok when both binds work', async () => {
    const bind: BindProbe = async () => undefined;
    const r = await checkListen({ bind, clock }, 6881);
    expect(r.status).toBe('ok');
  });

  it('fails on a taken TCP port, names the owner and suggests a port free for both', async () => {
    const taken = new Set(['tcp:6881', 'udp:6882', 'tcp:6883']);
    const bind: BindProbe = async (t, p) => {
      if (taken.has(`${t}:${p}`)) throw errno('EADDRINUSE');
    };
    const r = await checkListen({ bind, clock, owner: async () => 'Transmission (another BitTorrent client, "transmission-da"), pid 9' }, 6881);
    expect(r.status).toBe('fail');
    expect(r.detail[0]).toBe('TCP 6881: in use by Transmission (another BitTorrent client, "transmission-da"), pid 9');
    expect(r.data.suggestedPort).toBe(6884);
    expect(r.advice).toBe('stop Transmission (another BitTorrent client, "transmission-da"), pid 9 or use --port 6884 (free for TCP and UDP)');
  });

  it('the default port taken only warns: tc-download and tc-seed fall back to a free one (issue 17)', async () => {
    const bind: BindProbe = async (t, p) => {
      if (p === 6881) throw errno('EADDRINUSE');
    };
    const r = await checkListen({ bind, clock, owner: async () => 'Transmission, pid 9' }, 6881, { fallback: true });
    expect(r.status).toBe('warn');
    expect(r.summary).toBe('TCP port 6881 is taken: tc-download and tc-seed will listen on a free port instead');
    expect(r.advice).toBe('for a port you can forward, stop Transmission, pid 9 or set TC_PORT=6882 (or --port 6882)');
    // A port asked for (--port, TC_PORT) is used as is or not at all: still a failure.
    expect((await checkListen({ bind, clock }, 6881, { fallback: false })).status).toBe('fail');
  });

  it('only warns when UDP alone is taken; explains privileged ports', async () => {
    const udpTaken: BindProbe = async (t, p) => {
      if (t === 'udp' && p === 7000) throw errno('EADDRINUSE');
    };
    expect((await checkListen({ bind: udpTaken, clock }, 7000)).status).toBe('warn');
    const priv: BindProbe = async (_t, p) => {
      if (p < 1024) throw errno('EACCES');
    };
    const r = await checkListen({ bind: priv, clock }, 80);
    expect(r.status).toBe('fail');
    expect(r.advice).toBe('use a port of 1024 or above; use --port 1024 (free for TCP and UDP)');
  });
});

describe('dns', () => {
  const ok = (v: string[]): PromiseSettledResult<string[]> => ({ status: 'fulfilled', value: v });
  const no = (code: string): PromiseSettledResult<string[]> => ({ status: 'rejected', reason: errno(code) });

  it('tells NXDOMAIN from a resolver failure', () => {
    expect(classify(ok(['1.2.3.4']), no('ENODATA'))).toEqual({ kind: 'resolved', addresses: ['1.2.3.4'] });
    expect(classify(no('ENOTFOUND'), no('ENOTFOUND'))).toEqual({ kind: 'nxdomain', code: 'ENOTFOUND' });
    expect(classify(no('ENODATA'), no('ENODATA'))).toEqual({ kind: 'nodata', code: 'ENODATA' });
    expect(classify(no('ESERVFAIL'), no('ESERVFAIL'))).toEqual({ kind: 'resolver', code: 'ESERVFAIL' });
    expect(classify(no('ETIMEOUT'), no('ENOTFOUND'))).toEqual({ kind: 'resolver', code: 'ETIMEOUT' });
    expect(classify(no('EREFUSED'), no('EREFUSED'))).toEqual({ kind: 'resolver', code: 'EREFUSED' });
  });

  it('needs no lookup for literals, bounds a hanging resolver, and summarises', async () => {
    const hang: DnsResolver = { resolve4: () => new Promise(() => undefined), resolve6: () => new Promise(() => undefined) };
    const deps = { resolver: hang, lookupLocalhost: async () => ['127.0.0.1'], clock, timeoutMs: 20 };
    expect((await resolveHost(deps, '[::1]')).outcome).toEqual({ kind: 'literal', addresses: ['::1'] });
    expect((await resolveHost(deps, 'localhost')).outcome).toEqual({ kind: 'literal', addresses: ['127.0.0.1'] });
    const slow = await resolveHost(deps, 'slow.test');
    expect(slow.outcome).toEqual({ kind: 'resolver', code: 'ETIMEOUT' });
    const r = dnsResult([slow, { host: 'a.test', ms: 1, outcome: { kind: 'resolved', addresses: ['1.1.1.1'] } }], clock, 0);
    expect(r.status).toBe('warn');
    expect(r.advice).toMatch(/^your DNS resolver fails for 1 name\(s\) \(ETIMEOUT\)/);
    const gone = dnsResult([{ host: 'gone.test', ms: 1, outcome: { kind: 'nxdomain', code: 'ENOTFOUND' } }], clock, 0);
    expect(gone.status).toBe('fail');
    expect(gone.advice).toMatch(/do not exist/);
    expect(dnsResult([], clock, 0).status).toBe('skip');
  });
});

describe('environment', () => {
  it('reads proxies the usual way and applies NO_PROXY', () => {
    const p = proxySettings({ HTTP_PROXY: 'http://proxy:3128', https_proxy: 'http://sproxy:3128', NO_PROXY: 'example.org, .lan,*.corp,10.0.0.1:8080' });
    expect(p.http).toBe('http://proxy:3128');
    expect(p.https).toBe('http://sproxy:3128');
    expect(bypassesProxy(new URL('http://tracker.example.org/a'), p.noProxy)).toBe(true);
    expect(bypassesProxy(new URL('http://t.lan/a'), p.noProxy)).toBe(true);
    expect(bypassesProxy(new URL('http://a.b.corp/a'), p.noProxy)).toBe(true);
    expect(bypassesProxy(new URL('http://10.0.0.1:8080/a'), p.noProxy)).toBe(true);
    expect(bypassesProxy(new URL('http://10.0.0.1:80/a'), p.noProxy)).toBe(false);
    expect(proxyFor('http://t.example.com/announce', p)).toBe('http://proxy:3128');
    expect(proxyFor('https://t.example.com/announce', p)).toBe('http://sproxy:3128');
    expect(proxyFor('udp://t.example.com:80', p)).toBeUndefined();
  });

  it('says tc does not use proxies, warns when covered trackers are dead, and warns about a far-off clock', () => {
    const urls = ['http://a.test/announce', 'udp://b.test:1/announce'];
    const none = checkEnvironment({}, urls, [], clock, 0);
    expect(none.status).toBe('ok');
    const proxied = checkEnvironment({ HTTP_PROXY: 'http://p:1' }, urls, [], clock, 0);
    expect(proxied.status).toBe('ok');
    expect(proxied.detail).toContain('tc does not use HTTP(S)_PROXY: 1 of 2 tracker URL(s) it would cover are contacted directly');
    expect(proxied.detail).toContain('1 UDP tracker(s) and all peer connections bypass HTTP proxies');
    const blocked = checkEnvironment({ HTTP_PROXY: 'http://p:1' }, urls, [], clock, 0, new Set(['http://a.test/announce']));
    expect(blocked.status).toBe('warn');
    expect(blocked.advice).toMatch(/only through the proxy/);
    expect(checkEnvironment({ HTTP_PROXY: 'http://p:1', NO_PROXY: 'a.test' }, urls, [], clock, 0, new Set(['http://a.test/announce'])).status).toBe('ok');
    const now = Date.parse('2026-11-27T12:00:00Z');
    const ref = skewFromDateHeader('http://a.test/announce', 'Fri, 27 Nov 2026 13:00:00 GMT', now)!;
    expect(ref.skewMs).toBe(3_600_000);
    const skewed = checkEnvironment({}, urls, [ref], clock, 0);
    expect(skewed.status).toBe('warn');
    expect(skewed.summary).toBe('the clock is 60 min behind');
    expect(checkEnvironment({}, urls, [{ source: 'x', skewMs: 2000 }], clock, 0).status).toBe('ok');
    expect(skewFromDateHeader('x', 'garbage', now)).toBeUndefined();
  });
});

describe('trackers, peers, inbound', () => {
  it('counts live tiers', () => {
    const tiers = [['http://a/announce', 'udp://b:1'], ['udp://c:1'], ['wss://d']];
    const r = trackersResult(
      tiers,
      [
        { url: 'http://a/announce', state: 'dead', ms: 5, code: 'TRACKER_REFUSED', message: 'connection refused' },
        { url: 'udp://b:1', state: 'alive', ms: 3, connectMs: 1 },
        { url: 'udp://c:1', state: 'dead', ms: 9, code: 'TRACKER_TIMEOUT', message: 'no UDP reply' },
        { url: 'wss://d', state: 'unsupported', ms: 0, message: 'wss: trackers are not spoken by tc' },
      ],
      clock,
      0,
    );
    expect(r.status).toBe('warn');
    expect(r.summary).toBe('1 of 3 tiers alive (1 of 4 trackers answered)');
    expect(r.data.aliveTiers).toBe(1);
  });

  it('fails when no tier is alive, and blames UDP filtering when only UDP is silent', () => {
    const dead = trackersResult([['udp://c:1']], [{ url: 'udp://c:1', state: 'dead', ms: 9, code: 'TRACKER_TIMEOUT' }], clock, 0);
    expect(dead.status).toBe('fail');
    const udpOnly = trackersResult(
      [['udp://c:1'], ['http://a/announce']],
      [
        { url: 'udp://c:1', state: 'dead', ms: 9, code: 'TRACKER_TIMEOUT' },
        { url: 'http://a/announce', state: 'alive', ms: 2 },
      ],
      clock,
      0,
    );
    expect(udpOnly.advice).toMatch(/firewall may block outgoing UDP/);
  });

  it('tells refused trackers (nothing listens on the port) from silent ones in its advice', () => {
    const refusedUdp = (url: string) => ({
      url,
      state: 'dead' as const,
      ms: 1,
      code: 'TRACKER_REFUSED',
      message: `port unreachable: nothing listens on UDP ${url.slice(6)}`,
    });
    const httpUp = { url: 'http://a/announce', state: 'alive' as const, ms: 2 };
    // One refused UDP tracker among working ones: that tracker is down, not UDP.
    const one = trackersResult([['udp://c:1'], ['http://a/announce']], [refusedUdp('udp://c:1'), httpUp], clock, 0);
    expect(one.status).toBe('warn');
    expect(one.advice).toBe(
      '1 tracker(s) are dead (1 refused, meaning nothing listens on the port: the tracker is down or its URL names the wrong port): the torrent still works through the others; remove dead ones with tc-enhance',
    );
    expect(one.detail[0]).toBe('✗ udp://c:1: port unreachable: nothing listens on UDP c:1 (1 ms)');
    // Every UDP tracker refused while HTTP works: a firewall that rejects UDP, more likely than all down.
    const allUdp = trackersResult([['udp://c:1'], ['udp://d:1'], ['http://a/announce']], [refusedUdp('udp://c:1'), refusedUdp('udp://d:1'), httpUp], clock, 0);
    expect(allUdp.advice).toMatch(/^every UDP tracker refused \(port unreachable\) while HTTP works: .*firewall that rejects outgoing UDP/);
    // A mix of refused and silent UDP trackers: UDP gets through, so no firewall advice.
    const mixed = trackersResult(
      [['udp://c:1'], ['udp://d:1'], ['http://a/announce']],
      [refusedUdp('udp://c:1'), { url: 'udp://d:1', state: 'dead', ms: 9, code: 'TRACKER_TIMEOUT', message: 'no UDP reply' }, httpUp],
      clock,
      0,
    );
    expect(mixed.advice).toMatch(/^2 tracker\(s\) are dead \(1 refused, /);
    // Nothing answers and everything refused: the trackers, not the network.
    const none = trackersResult([['udp://c:1']], [refusedUdp('udp://c:1')], clock, 0);
    expect(none.status).toBe('fail');
    expect(none.advice).toMatch(/^no tracker answers: every one refused \(nothing listens on its port\)/);
  });

  it('picks unique peers and rates the handshakes', () => {
    const a = {
      url: 'u',
      ok: true,
      ms: 1,
      peers: [
        { ip: '1.1.1.1', port: 1 },
        { ip: '1.1.1.1', port: 1 },
        { ip: '2.2.2.2', port: 2 },
      ],
    };
    expect(pickPeers([a, a], 5)).toEqual([
      { ip: '1.1.1.1', port: 1 },
      { ip: '2.2.2.2', port: 2 },
    ]);
    expect(pickPeers([a], 1)).toHaveLength(1);
    expect(pickPeers([a], 5, (p) => p.port === 1)).toEqual([{ ip: '2.2.2.2', port: 2 }]);
    const r = peersResult(
      [a],
      [
        { ip: '1.1.1.1', port: 1, state: 'ok', ms: 12, client: 'libtorrent 2.0.8' },
        { ip: '2.2.2.2', port: 2, state: 'refused', ms: 1, message: 'connection refused' },
      ],
      2,
      clock,
      0,
    );
    expect(r.status).toBe('ok');
    expect(r.summary).toBe('1 of 2 peers answered, median 12 ms: libtorrent 2.0.8');
    expect(peersResult([a], [{ ip: '1.1.1.1', port: 1, state: 'timeout', ms: 5000 }], 1, clock, 0).status).toBe('fail');
    expect(peersResult([{ ...a, peers: [] }], [], 0, clock, 0).status).toBe('warn');
    expect(peersResult([{ url: 'u', ok: false, ms: 1, peers: [], code: 'TRACKER_TIMEOUT' }], [], 0, clock, 0).status).toBe('fail');
  });

  it('spots NAT from what others saw', () => {
    const local = [
      { interface: 'eth0', family: 4 as const, address: '192.168.1.5', scope: 'private' as const },
      { interface: 'lo', family: 4 as const, address: '127.0.0.1', scope: 'loopback' as const },
    ];
    expect(inboundResult([], local, 6881, clock, 0).status).toBe('skip');
    expect(inboundResult([{ source: 'peer 127.0.0.1:1', ip: '::ffff:127.0.0.1' }], local, 6881, clock, 0).status).toBe('ok');
    const nat = inboundResult([{ source: 'http://t/announce', ip: '203.0.113.7' }], local, 6881, clock, 0);
    expect(nat.status).toBe('warn');
    expect(nat.advice).toBe('behind NAT: forward TCP and UDP port 6881 to 192.168.1.5 on the router (or enable UPnP/NAT-PMP) so peers can connect in');
  });

  it('orders statuses', () => {
    expect(worst(['ok', 'skip', 'warn'])).toBe('warn');
    expect(worst(['ok', 'fail', 'warn'])).toBe('fail');
    expect(worst([])).toBe('skip');
  });
});
