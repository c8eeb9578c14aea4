import type { Transport } from './checks/listen.js';

/**
 * Who holds a port, from Linux's /proc: /proc/net/{tcp,tcp6,udp,udp6} give the socket inode and the
 * owner's uid; /proc/<pid>/fd links name `socket:[inode]`; /proc/<pid>/comm gives the program name.
 * Best effort: other users' fds are unreadable without privileges, so the answer may be just the uid.
 */

export interface ProcFs {
  readFile(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  readlink(path: string): Promise<string>;
}

/** /proc/net socket states: 0A is TCP LISTEN; 07 is UDP's "unconnected" (a bound UDP socket). */
const TCP_LISTEN = '0A';
const UDP_BOUND = '07';
/** Bounds on the /proc walk so a machine with many processes cannot make the check slow. */
const MAX_PIDS = 4096;
const MAX_FDS_PER_PID = 1024;

export interface ProcSocket {
  readonly inode: string;
  readonly uid: number;
}

/** Parses one /proc/net/{tcp,udp}[6] table for sockets bound to `port` in `state`. Pure. */
export function parseProcNet(text: string, port: number, state: string): ProcSocket[] {
  const out: ProcSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode …
    const local = f[1];
    if (!local || f[3] !== state) continue;
    const hexPort = local.split(':')[1];
    if (hexPort === undefined || parseInt(hexPort, 16) !== port) continue;
    const uid = Number(f[7]);
    const inode = f[9];
    if (inode && inode !== '0') out.push({ inode, uid: Number.isFinite(uid) ? uid : -1 });
  }
  return out;
}

/** Names a program the way a user would recognise it, saying when it is another BitTorrent client. */
export function describeProgram(comm: string): string {
  const known: [RegExp, string][] = [
    [/^transmission/i, 'Transmission'],
    [/^qbittorrent/i, 'qBittorrent'],
    [/^deluge/i, 'Deluge'],
    [/^rtorrent/i, 'rTorrent'],
    [/^aria2c?$/i, 'aria2'],
    [/^ktorrent/i, 'KTorrent'],
    [/^(utorrent|bittorrent)/i, 'µTorrent/BitTorrent'],
    [/^(tc-|tc$)/, 'another tc'],
  ];
  for (const [re, name] of known) if (re.test(comm)) return `${name} (another BitTorrent client, "${comm}")`;
  return `"${comm}"`;
}

export async function findPortOwner(fs: ProcFs, transport: Transport, port: number): Promise<string | undefined> {
  const state = transport === 'tcp' ? TCP_LISTEN : UDP_BOUND;
  const sockets: ProcSocket[] = [];
  for (const table of [transport, `${transport}6`]) {
    const text = await fs.readFile(`/proc/net/${table}`).catch(() => '');
    sockets.push(...parseProcNet(text, port, state));
  }
  if (sockets.length === 0) return undefined;
  const wanted = new Set(sockets.map((s) => `socket:[${s.inode}]`));
  const pids = (await fs.readdir('/proc').catch(() => [])).filter((p) => /^\d+$/.test(p)).slice(0, MAX_PIDS);
  for (const pid of pids) {
    const fds = await fs.readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds.slice(0, MAX_FDS_PER_PID)) {
      const target = await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (wanted.has(target)) {
        const comm = (await fs.readFile(`/proc/${pid}/comm`).catch(() => '?')).trim();
        return `${describeProgram(comm)}, pid ${pid}`;
      }
    }
  }
  const uid = sockets[0]!.uid;
  return uid >= 0 ? `a process of uid ${uid}` : undefined;
}
