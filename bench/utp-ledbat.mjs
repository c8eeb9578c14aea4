// Does tc's uTP yield to TCP on a shared bottleneck (LEDBAT, BEP 29)? Loopback has no queue of its
// own, so this builds one: a user-space link of fixed rate with one FIFO queue that both a uTP
// flow (through a UDP proxy) and a bulk TCP flow (through a TCP proxy) must cross. TCP keeps the
// queue full up to its limit, as it would a modem's buffer; the queueing delay uTP then measures
// should push its window down and leave the link to TCP.
//
//   node bench/utp-ledbat.mjs [--rate-mb 4] [--queue-ms 300] [--tcp-fill 0.8] [--alone-s 4] [--shared-s 8] [--json]
//
// Needs a built @tc/utp. Run it in a private network namespace:
//   unshare --net -- sh -c 'ip link set lo up && node bench/utp-ledbat.mjs'
import { createSocket } from 'node:dgram';
import { createServer, connect as tcpConnect } from 'node:net';
import { listenUtp } from '@tc/utp';
import { flag, numberOption } from './common.mjs';

const RATE = numberOption('rate-mb', 4) * 1e6; // bytes per second through the link
const QUEUE_MS = numberOption('queue-ms', 300); // the link's buffer, in time at its rate
const ALONE_S = numberOption('alone-s', 4);
const SHARED_S = numberOption('shared-s', 8);
const QUEUE_BYTES = (RATE * QUEUE_MS) / 1000;
const TCP_FILL = numberOption('tcp-fill', 0.8);

/** One FIFO drained at RATE. Datagrams beyond the buffer are dropped (tail drop). */
class Link {
  queue = [];
  queued = 0;
  tcpQueued = 0;
  drops = 0;
  credit = 0;
  last = performance.now();
  timer = setInterval(() => this.drain(), 1);

  enqueue(bytes, deliver, isTcp) {
    if (!isTcp && this.queued + bytes > QUEUE_BYTES) {
      this.drops++;
      return;
    }
    this.queue.push({ bytes, deliver, isTcp });
    this.queued += bytes;
    if (isTcp) this.tcpQueued += bytes;
  }

  drain() {
    const now = performance.now();
    this.credit = Math.min(this.credit + ((now - this.last) / 1000) * RATE, 64 * 1024);
    this.last = now;
    while (this.queue.length > 0 && this.credit >= this.queue[0].bytes) {
      const x = this.queue.shift();
      this.credit -= x.bytes;
      this.queued -= x.bytes;
      if (x.isTcp) this.tcpQueued -= x.bytes;
      x.deliver();
    }
    this.onDrain?.();
  }

  close() {
    clearInterval(this.timer);
  }
}

const link = new Link();

// ---- uTP: receiver, a UDP proxy whose forward direction crosses the link, sender ----
const rx = await listenUtp({ allowHalfOpen: true });
let utpBytes = 0;
rx.utp.on('connection', (s) => {
  s.on('data', (d) => {
    utpBytes += d.length;
  });
  s.on('error', () => undefined);
});
const front = createSocket('udp4');
const back = createSocket('udp4');
await new Promise((r) => front.bind(0, '127.0.0.1', r));
await new Promise((r) => back.bind(0, '127.0.0.1', r));
let client;
front.on('message', (m, r) => {
  client = r;
  link.enqueue(m.length + 28, () => back.send(m, rx.port, '127.0.0.1'), false);
});
back.on('message', (m) => client && front.send(m, client.port, client.address)); // acks skip the link

const tx = await listenUtp({ allowHalfOpen: true });
const utp = tx.utp.connect(front.address().port, '127.0.0.1');
utp.on('error', () => undefined);
await new Promise((r) => utp.once('connect', r));
const chunk = Buffer.alloc(256 * 1024, 7);
let utpRunning = true;
(async () => {
  while (utpRunning) if (!utp.write(chunk)) await new Promise((r) => utp.once('drain', r));
})();

// ---- TCP: a server that discards, a proxy whose forward direction crosses the link ----
let tcpBytes = 0;
const sink = createServer((s) => s.on('data', (d) => (tcpBytes += d.length)).on('error', () => undefined));
await new Promise((r) => sink.listen(0, '127.0.0.1', r));
const proxy = createServer((c) => {
  const up = tcpConnect(sink.address().port, '127.0.0.1');
  c.on('data', (d) => {
    link.enqueue(d.length, () => up.write(d), true);
    // TCP keeps the link's buffer nearly full (a real TCP flow oscillates below the point where
    // it would see tail drops): read more only while its share is under TCP_FILL of the buffer.
    if (link.tcpQueued > TCP_FILL * QUEUE_BYTES) c.pause();
  });
  link.onDrain = () => {
    if (link.tcpQueued <= TCP_FILL * QUEUE_BYTES && c.isPaused()) c.resume();
  };
  c.on('error', () => undefined);
  up.on('error', () => undefined);
});
await new Promise((r) => proxy.listen(0, '127.0.0.1', r));

const samples = [];
const t0 = performance.now();
let lastU = 0;
let lastT = 0;
const sampler = setInterval(() => {
  const c = utp.connection;
  samples.push({
    t: (performance.now() - t0) / 1000,
    utpMBps: ((utpBytes - lastU) / 1e6) * 2,
    tcpMBps: ((tcpBytes - lastT) / 1e6) * 2,
    cwnd: Math.round(c?.congestionWindowBytes ?? 0),
    delayMs: (c?.delayUs ?? 0) / 1000,
  });
  lastU = utpBytes;
  lastT = tcpBytes;
}, 500);

await new Promise((r) => setTimeout(r, ALONE_S * 1000));
const tcp = tcpConnect(proxy.address().port, '127.0.0.1');
tcp.on('error', () => undefined);
let tcpRunning = true;
tcp.on('connect', async () => {
  while (tcpRunning) if (!tcp.write(chunk)) await new Promise((r) => tcp.once('drain', r));
});
await new Promise((r) => setTimeout(r, SHARED_S * 1000));
clearInterval(sampler);
tcpRunning = false;
utpRunning = false;

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
// Skip the first second of each phase (slow start, TCP's ramp).
const alone = samples.filter((s) => s.t > 1 && s.t <= ALONE_S);
const shared = samples.filter((s) => s.t > ALONE_S + 1);
const result = {
  link: { rateMBps: RATE / 1e6, queueMs: QUEUE_MS, udpDrops: link.drops },
  alone: { utpMBps: mean(alone.map((s) => s.utpMBps)), delayMs: mean(alone.map((s) => s.delayMs)) },
  shared: { utpMBps: mean(shared.map((s) => s.utpMBps)), tcpMBps: mean(shared.map((s) => s.tcpMBps)), delayMs: mean(shared.map((s) => s.delayMs)) },
};
if (flag('json')) console.log(JSON.stringify({ schema: 1, ...result, samples }));
else {
  console.log(`LEDBAT yield: a ${RATE / 1e6} MB/s link with a ${QUEUE_MS} ms buffer, ${process.version}`);
  console.log('   t s   uTP MB/s   TCP MB/s   uTP cwnd B   uTP delay ms');
  for (const s of samples) {
    console.log(
      `${s.t.toFixed(1).padStart(6)} ${s.utpMBps.toFixed(2).padStart(10)} ${s.tcpMBps.toFixed(2).padStart(10)} ${String(s.cwnd).padStart(12)} ${s.delayMs.toFixed(1).padStart(14)}`,
    );
  }
  console.log(`uTP alone: ${result.alone.utpMBps.toFixed(2)} MB/s (delay ${result.alone.delayMs.toFixed(0)} ms)`);
  console.log(
    `with TCP:  uTP ${result.shared.utpMBps.toFixed(2)} MB/s, TCP ${result.shared.tcpMBps.toFixed(2)} MB/s (uTP delay ${result.shared.delayMs.toFixed(0)} ms); ` +
      `uTP kept ${((100 * result.shared.utpMBps) / Math.max(1e-9, result.alone.utpMBps)).toFixed(0)}% of its rate`,
  );
}
link.close();
utp.destroy();
tcp.destroy();
await tx.close();
await rx.close();
front.close();
back.close();
proxy.close();
sink.close();
process.exit(0);
