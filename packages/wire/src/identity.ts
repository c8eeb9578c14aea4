import { randomBytes } from 'node:crypto';

/**
 * tc's identity on the wire, in one place (STYLE #11): the peer-id prefix, the HTTP user agent
 * and the extended-handshake client string all derive from these constants.
 */

/** tc's release, as it appears in the peer id, the user agent and the `v` key. */
export const CLIENT_VERSION = '0.1.0';
/** tc's name as peers and trackers see it. */
export const CLIENT_NAME = 'tc';
/**
 * Azureus-style client code. "TC" is in none of the well-known lists (libtorrent's
 * identify_client, Transmission's clients.cc, BiglyBT's decoder definitions); libtorrent 2.0.8
 * shows `-TC0100-` as "TC 0.1.0". (`-TS` would read as TorrentStorm.)
 */
export const CLIENT_CODE = 'TC';
/** `-TC0100-`: code, then four version characters (major, minor, patch, build), BEP 20. */
export const PEER_ID_PREFIX = `-${CLIENT_CODE}${versionDigits(CLIENT_VERSION)}-`;
/** The User-Agent sent to HTTP trackers and web seeds. */
export const USER_AGENT = `${CLIENT_NAME}/${CLIENT_VERSION}`;
/** The `v` value of our BEP 10 extended handshake. */
export const EXTENDED_CLIENT_NAME = `${CLIENT_NAME} ${CLIENT_VERSION}`;
/** A peer id is exactly 20 bytes (BEP 3). */
export const PEER_ID_BYTES = 20;

function versionDigits(version: string): string {
  const parts = version.split('.').map((p) => Number(p));
  const digit = (n: number | undefined): string => (n ?? 0).toString(36).toUpperCase().slice(-1);
  return `${digit(parts[0])}${digit(parts[1])}${digit(parts[2])}0`;
}

/** Alphabet for the random part: printable and URL-safe, so trackers' logs and query strings stay clean. */
const ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_.~';

/** A fresh peer id: tc's prefix plus 12 characters from a CSPRNG (64 symbols: no modulo bias). */
export function generatePeerId(): Buffer {
  const prefix = Buffer.from(PEER_ID_PREFIX, 'latin1');
  const rnd = randomBytes(PEER_ID_BYTES - prefix.length);
  const out = Buffer.alloc(PEER_ID_BYTES);
  prefix.copy(out);
  for (let i = 0; i < rnd.length; i++) out[prefix.length + i] = ID_ALPHABET.charCodeAt(rnd[i]! & 63);
  return out;
}

/** Two-letter Azureus-style codes (`-XX1234-`) we name; the rest print as the code itself, like libtorrent does. */
const AZUREUS_CLIENTS: Readonly<Record<string, string>> = {
  AZ: 'Vuze',
  BC: 'BitComet',
  BT: 'BitTorrent',
  DE: 'Deluge',
  KT: 'KTorrent',
  LT: 'libtorrent',
  lt: 'rtorrent libTorrent',
  qB: 'qBittorrent',
  TR: 'Transmission',
  UT: 'µTorrent',
  UM: 'µTorrent Mac',
  UW: 'µTorrent Web',
  WW: 'WebTorrent',
  WD: 'WebTorrent Desktop',
  BI: 'BiglyBT',
  PI: 'PicoTorrent',
  FD: 'Free Download Manager',
  TS: 'TorrentStorm',
  TL: 'Tribler',
  [CLIENT_CODE]: CLIENT_NAME,
};

/** Shadow-style single-letter codes (`T03I--…`), BEP 20. */
const SHADOW_CLIENTS: Readonly<Record<string, string>> = {
  A: 'ABC',
  O: 'Osprey Permaseed',
  Q: 'BTQueue',
  R: 'Tribler',
  S: 'Shadow',
  T: 'BitTornado',
  U: 'UPnP NAT BitTorrent',
};

const SHADOW_DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-';

/** A version character as a number: 0-9, then A-Z as 10-35 (how Deluge and others write 1.3.15 as `13F`). */
function azDigit(c: string): number | undefined {
  if (c >= '0' && c <= '9') return c.charCodeAt(0) - 48;
  if (c >= 'A' && c <= 'Z') return c.charCodeAt(0) - 55;
  if (c >= 'a' && c <= 'z') return c.charCodeAt(0) - 61;
  return undefined;
}

const isCodeChar = (c: string): boolean => /^[A-Za-z0-9~]$/.test(c);

function azureusVersion(code: string, v: string): string | undefined {
  const d = [...v].map(azDigit);
  if (d.some((x) => x === undefined)) return undefined;
  const [a, b, c, e] = d as number[];
  switch (code) {
    case 'TR': {
      // Transmission ≥ 4 writes a.b.c (+ a dev/beta mark); before that, `-TR2940-` is 2.94.
      if (a! >= 4) return `${a}.${b}.${c}`;
      return `${a}.${b}${c}`;
    }
    case 'WW':
    case 'WD':
      // webtorrent writes two decimal digits each for major and minor.
      return `${Number(v.slice(0, 2))}.${Number(v.slice(2, 4))}`;
    case 'UT':
    case 'UM':
    case 'UW':
      // The fourth character is a release mnemonic (B = beta), not a number.
      return `${a}.${b}.${c}${v[3] === 'B' ? ' beta' : ''}`;
    default:
      return e === 0 ? `${a}.${b}.${c}` : `${a}.${b}.${c}.${e}`;
  }
}

/**
 * Names the client behind a peer id for debug tools: "libtorrent 2.0.8", "Transmission 3.00".
 * Returns undefined when the id follows no known convention. Output contains only printable ASCII
 * taken from the id (plus our own names), but callers still sanitize before printing (CLI.md).
 */
export function describePeerId(peerId: Uint8Array): string | undefined {
  if (peerId.length !== PEER_ID_BYTES) return undefined;
  const s = Buffer.from(peerId).toString('latin1');
  // Azureus style: -XXvvvv-
  if (s[0] === '-' && s[7] === '-' && isCodeChar(s[1]!) && isCodeChar(s[2]!)) {
    const code = s.slice(1, 3);
    const version = azureusVersion(code, s.slice(3, 7));
    const name = AZUREUS_CLIENTS[code] ?? code;
    return version === undefined ? name : `${name} ${version}`;
  }
  // aria2: `A2-1-36-0-` (would otherwise read as Shadow-style ABC).
  const aria = /^A2-(\d+)-(\d+)-(\d+)-/.exec(s);
  if (aria) return `aria2 ${aria[1]}.${aria[2]}.${aria[3]}`;
  // Mainline: `M7-2-2--`, major-minor-patch separated by dashes.
  const mainline = /^([MQ])(\d{1,2})-(\d{1,2})-(\d{1,2})-/.exec(s);
  if (mainline) return `${mainline[1] === 'M' ? 'Mainline' : 'Queen Bee'} ${mainline[2]}.${mainline[3]}.${mainline[4]}`;
  // BitComet / BitLord old style: `exbc` + two binary version bytes.
  if (s.startsWith('exbc') || s.startsWith('FUTB') || s.startsWith('xUTB')) {
    const major = peerId[4]!;
    const minor = peerId[5]!;
    const name = s.slice(6, 10) === 'LORD' ? 'BitLord' : 'BitComet';
    return `${name} ${major}.${String(minor).padStart(2, '0')}`;
  }
  // Shadow style: a letter, up to five version characters, then dashes.
  const shadowName = SHADOW_CLIENTS[s[0]!];
  if (shadowName !== undefined && s.slice(4, 6) === '--') {
    const parts: number[] = [];
    for (const ch of s.slice(1, 6)) {
      if (ch === '-') break;
      const n = SHADOW_DIGITS.indexOf(ch);
      if (n < 0) return undefined;
      parts.push(n);
    }
    if (parts.length > 0) return `${shadowName} ${parts.join('.')}`;
  }
  return undefined;
}
