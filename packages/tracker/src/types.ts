/** A peer as a tracker handed it out. The engine dials `ip:port`; `peerId` only comes from dictionary-model replies. */
export interface Peer {
  readonly ip: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly peerId?: Buffer;
}

/** BEP 3 `event`; `periodic` is the regular re-announce, sent with no event (HTTP) or 0 (UDP). */
export type AnnounceEvent = 'started' | 'completed' | 'stopped' | 'periodic';

/** What one announce says about us. Byte counts are totals since `started`, as BEP 3 asks. */
export interface AnnounceRequest {
  /** 20 bytes. */
  readonly infoHash: Buffer;
  /** 20 bytes, made by the caller's identity module. */
  readonly peerId: Buffer;
  /** Our listen port (1..65535). */
  readonly port: number;
  readonly uploaded: number;
  readonly downloaded: number;
  readonly left: number;
  readonly event: AnnounceEvent;
  /** How many peers we want; omitted means the tracker's default. */
  readonly numwant?: number;
  /** BEP 7 / BEP 15 `key`: a 32-bit value that lets the tracker recognise us across IP changes. */
  readonly key: number;
  /** The `tracker id` a previous reply gave; echoed back as BEP 3 asks. */
  readonly trackerId?: Buffer;
}

export interface AnnounceResult {
  /** Seconds, as the tracker sent it (schedulers clamp it, see TrackerSet). */
  readonly interval: number;
  readonly minInterval?: number;
  /** Seeders. */
  readonly complete?: number;
  /** Leechers. */
  readonly incomplete?: number;
  readonly peers: Peer[];
  /** Entries dropped: port 0, malformed, or beyond the per-reply cap. */
  readonly skipped: number;
  readonly warning?: string;
  readonly trackerId?: Buffer;
  /** BEP 24 `external ip`: our address as the tracker saw it (HTTP replies only; untrusted). */
  readonly externalIp?: string;
}

export interface ScrapeEntry {
  readonly infoHash: Buffer;
  /** Seeders. */
  readonly complete: number;
  /** Completed downloads ever reported. */
  readonly downloaded: number;
  /** Leechers. */
  readonly incomplete: number;
}

export interface ScrapeResult {
  /** Keyed by lower-case hex info-hash. */
  readonly files: Map<string, ScrapeEntry>;
}
