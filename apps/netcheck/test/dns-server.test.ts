import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReply, parseQuestion, startDnsServer, type DnsServer } from '@tc/testkit/dns-server';

describe('testkit DNS responder with node’s Resolver', () => {
  let dns: DnsServer;
  let resolver: Resolver;

  beforeAll(async () => {
    dns = await startDnsServer({
      records: { 'tracker.test': { a: ['127.0.0.1', '127.0.0.2'], aaaa: ['::1'] }, 'v4only.test': { a: ['127.0.0.9'] } },
      silent: ['slow.test'],
      servfail: ['broken.test'],
      refused: ['refused.test'],
    });
    resolver = new Resolver({ timeout: 300, tries: 1 });
    resolver.setServers([dns.server]);
  });

  afterAll(async () => {
    resolver?.cancel();
    await dns?.close();
  });

  const code = (p: Promise<unknown>): Promise<string> =>
    p.then(
      () => 'OK',
      (e: { code?: string }) => e.code ?? 'none',
    );

  it('answers A and AAAA, case-insensitively', async () => {
    expect(await resolver.resolve4('tracker.test')).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(await resolver.resolve6('TRACKER.test')).toEqual(['::1']);
    expect(await code(resolver.resolve6('v4only.test'))).toBe('ENODATA');
  });

  it('gives NXDOMAIN, SERVFAIL, REFUSED and silence', async () => {
    expect(await code(resolver.resolve4('gone.test'))).toBe('ENOTFOUND');
    expect(await code(resolver.resolve4('broken.test'))).toBe('ESERVFAIL');
    expect(await code(resolver.resolve4('refused.test'))).toBe('EREFUSED');
    expect(await code(resolver.resolve4('slow.test'))).toBe('ETIMEOUT');
    expect(dns.queries.some((q) => q.name === 'slow.test' && q.type === 1)).toBe(true);
  });

  it('rejects malformed questions with bounds checks', () => {
    const header = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    const q = (...bytes: number[]): Buffer => Buffer.concat([header, Buffer.from(bytes)]);
    expect(parseQuestion(q(1, 0x61, 0, 0, 1, 0, 1))?.name).toBe('a');
    expect(parseQuestion(q(5, 0x61, 0))).toBeUndefined(); // label runs past the end
    expect(parseQuestion(q(0xc0, 0x0c, 0, 1, 0, 1))).toBeUndefined(); // compression pointer
    expect(parseQuestion(q(1, 0x61, 0, 0))).toBeUndefined(); // type/class cut short
    expect(parseQuestion(Buffer.alloc(5))).toBeUndefined();
    expect(parseQuestion(Buffer.alloc(600))).toBeUndefined();
    const formerr = buildReply(q(5), undefined, 1);
    expect(formerr.readUInt16BE(0)).toBe(0x1234);
    expect(formerr.readUInt16BE(2) & 0x800f).toBe(0x8001);
  });
});
