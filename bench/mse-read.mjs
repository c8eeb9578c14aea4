#!/usr/bin/env node
// The receiving side's CPU per GiB over one loopback TCP connection, by how it reads (issue 12):
// a reused `onread` buffer (tc's plaintext TCP peers), 'data' events (a fresh buffer per read),
// `MseStream` passing plaintext through, `MseStream` decrypting RC4 in place, and `onread` plus
// RC4 in place on the reused buffer (what an encrypted peer could cost). A child process sends.
//
//   node bench/mse-read.mjs [--mib 1024] [--rounds 3] [--json]
//
// Run it in a private network namespace: unshare --net -- sh -c 'ip link set lo up && node bench/mse-read.mjs'
import { fork } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { loadavg } from 'node:os';
import { MseStream, Rc4 } from '@tc/wire';
import { flag, median, numberOption } from './common.mjs';

if (process.argv[2] === '--sender') {
  // Child: listen, tell the parent the port, write `bytes` to the one connection as fast as it takes them, end.
  const bytes = Number(process.argv[3]);
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  const server = createServer((s) => {
    server.close();
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        const n = Math.min(chunk.length, bytes - sent);
        sent += n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void s.once('drain', pump);
      }
      s.end();
    };
    pump();
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
  process.on('disconnect', () => undefined);
} else {
  const BYTES = numberOption('mib', 1024) * 1024 * 1024;
  const ROUNDS = numberOption('rounds', 3);
  const key = Buffer.alloc(20, 7);
  const cipher = () => ({ encrypt: new Rc4(key), decrypt: new Rc4(key) });

  /** How each mode reads: `onread` into one reused buffer, else `read` attaches a 'data' counter. */
  const modes = {
    'onread, reused buffer': { onread: true },
    "'data' events": { read: (sock, count) => sock.on('data', count) },
    'MseStream plaintext': { read: (sock, count) => new MseStream(sock, undefined).on('data', count) },
    'MseStream rc4': { read: (sock, count) => new MseStream(sock, cipher()).on('data', count) },
    'onread + rc4 in place': { onread: true, rc4: true },
  };

  async function run(name) {
    const m = modes[name];
    const rc4 = m.rc4 ? new Rc4(key) : undefined;
    let got = 0;
    const child = fork(new URL(import.meta.url).pathname, ['--sender', String(BYTES)]);
    const port = await new Promise((resolve) => child.once('message', resolve));
    child.disconnect();
    const done = new Promise((resolve, reject) => {
      const count = (b) => (got += b.length);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const opts = { host: '127.0.0.1', port };
      const sock = m.onread
        ? connect({
            ...opts,
            onread: {
              buffer: Buffer.allocUnsafe(64 * 1024),
              callback: (n, buf) => {
                if (rc4) rc4.process(buf.subarray(0, n));
                got += n;
                return true;
              },
            },
          })
        : connect(opts);
      if (!m.onread) m.read(sock, count);
      sock.on('error', reject);
      sock.on('end', () => {
        const cpu = process.cpuUsage(c0);
        const wall = (performance.now() - t0) / 1000;
        sock.destroy();
        resolve({ cpuS: (cpu.user + cpu.system) / 1e6, wallS: wall });
      });
    });
    const r = await done;
    if (got !== BYTES) throw new Error(`${name}: read ${got} of ${BYTES} bytes`);
    return r;
  }

  const results = Object.fromEntries(Object.keys(modes).map((k) => [k, []]));
  const loads = [loadavg()[0].toFixed(1)];
  for (let r = 0; r < ROUNDS; r++) for (const name of Object.keys(modes)) results[name].push(await run(name));
  loads.push(loadavg()[0].toFixed(1));
  const gib = BYTES / 1024 ** 3;
  const rows = Object.entries(results).map(([name, rs]) => ({
    name,
    cpuSPerGiB: median(rs.map((x) => x.cpuS)) / gib,
    mbPerS: BYTES / 1e6 / median(rs.map((x) => x.wallS)),
  }));
  if (flag('json')) console.log(JSON.stringify({ bytes: BYTES, rounds: ROUNDS, loads, rows }));
  else {
    console.log(`receiver CPU over loopback TCP: ${(BYTES / 2 ** 20).toFixed(0)} MiB, median of ${ROUNDS}, ${process.version}, load ${loads.join(' → ')}`);
    console.log('reader                       CPU s/GiB    MB/s');
    for (const r of rows) console.log(`${r.name.padEnd(28)} ${r.cpuSPerGiB.toFixed(2).padStart(9)} ${r.mbPerS.toFixed(0).padStart(7)}`);
  }
}
