import type { Entry } from '../entry.js';

/** Transmission's status numbers (rpc-spec.md, torrent-get `status`). */
export const TR_STATUS = { stopped: 0, checkWait: 1, check: 2, downloadWait: 3, download: 4, seedWait: 5, seed: 6 } as const;

function trStatus(e: Entry): number {
  switch (e.status) {
    case 'stopped':
    case 'error':
      return TR_STATUS.stopped;
    case 'queued':
      return e.record.doneAt !== undefined ? TR_STATUS.seedWait : TR_STATUS.downloadWait;
    case 'metadata':
    case 'downloading':
      return TR_STATUS.download;
    case 'checking':
      return TR_STATUS.check;
    case 'seeding':
      return TR_STATUS.seed;
  }
}

/** What the fields are computed from, once per torrent per request. */
interface Facts {
  readonly e: Entry;
  readonly total: number;
  readonly wantedBytes: number;
  readonly left: number;
  readonly have: number;
  readonly down: number;
  readonly up: number;
  readonly downRate: number;
  readonly upRate: number;
  readonly peers: number;
  readonly fileDone: number[];
}

function facts(e: Entry): Facts {
  const m = e.metainfo;
  const s = e.stats();
  const wanted = e.wanted();
  const fileDone = e.fileDone();
  const total = m?.totalLength ?? 0;
  const wantedBytes = m === undefined ? 0 : m.files.reduce((n, f, i) => n + (wanted[i] === true ? f.length : 0), 0);
  const wantedDone = m === undefined ? 0 : fileDone.reduce((n, d, i) => n + (wanted[i] === true ? d : 0), 0);
  return {
    e,
    total,
    wantedBytes,
    left: Math.max(0, wantedBytes - wantedDone),
    have: s?.haveBytes ?? 0,
    down: s?.downloaded ?? 0,
    up: s?.uploaded ?? 0,
    downRate: e.torrent !== undefined ? Math.round(s?.downRateBps ?? 0) : 0,
    upRate: e.torrent !== undefined ? Math.round(s?.upRateBps ?? 0) : 0,
    peers: e.torrent !== undefined ? (s?.peers ?? 0) : 0,
    fileDone,
  };
}

function filePath(e: Entry, i: number): string {
  const f = e.metainfo!.files[i]!;
  return f.path.join('/');
}

/** Transmission's torrent-get fields, each from the same entry the JSON API shows. Unknown names are left out. */
const FIELDS: Readonly<Record<string, (f: Facts) => unknown>> = {
  id: (f) => f.e.id,
  name: (f) => f.e.metainfo?.name ?? f.e.record.name,
  hashString: (f) => f.e.hex,
  status: (f) => trStatus(f.e),
  percentDone: (f) => (f.wantedBytes === 0 ? 0 : (f.wantedBytes - f.left) / f.wantedBytes),
  metadataPercentComplete: (f) => (f.e.metainfo !== undefined ? 1 : 0),
  recheckProgress: (f) => (f.e.checking !== undefined && f.e.checking.total > 0 ? f.e.checking.done / f.e.checking.total : 0),
  rateDownload: (f) => f.downRate,
  rateUpload: (f) => f.upRate,
  eta: (f) => (f.left === 0 ? -1 : f.downRate > 0 ? Math.round(f.left / f.downRate) : -2),
  etaIdle: () => -1,
  peersConnected: (f) => f.peers,
  peersGettingFromUs: () => 0,
  peersSendingToUs: (f) => f.e.torrent?.peerList().filter((p) => p.downRateBps > 0).length ?? 0,
  webseedsSendingToUs: () => 0,
  sizeWhenDone: (f) => f.wantedBytes,
  totalSize: (f) => f.total,
  leftUntilDone: (f) => f.left,
  desiredAvailable: () => 0,
  haveValid: (f) => f.have,
  haveUnchecked: () => 0,
  downloadedEver: (f) => f.down,
  uploadedEver: (f) => f.up,
  corruptEver: (f) => f.e.stats()?.wasteBytes ?? 0,
  uploadRatio: (f) => (f.down > 0 ? f.up / f.down : f.up > 0 ? -2 : -1),
  error: (f) => (f.e.error !== undefined ? 3 : 0),
  errorString: (f) => f.e.error ?? '',
  // Transmission's isFinished: seeding reached its goal (ratio or idle). The daemon seeds without a goal yet.
  isFinished: () => false,
  isStalled: (f) => f.e.status === 'downloading' && f.downRate === 0,
  isPrivate: (f) => f.e.metainfo?.private ?? false,
  pieceCount: (f) => f.e.metainfo?.pieceCount ?? 0,
  pieceSize: (f) => f.e.metainfo?.pieceLength ?? 0,
  downloadDir: (f) => f.e.record.dir,
  addedDate: (f) => f.e.record.addedAt,
  doneDate: (f) => f.e.record.doneAt ?? 0,
  activityDate: (f) => (f.e.torrent !== undefined ? Math.floor(Date.now() / 1000) : 0),
  startDate: () => 0,
  dateCreated: (f) => (f.e.metainfo?.creationDate !== undefined ? Math.floor(f.e.metainfo.creationDate.getTime() / 1000) : 0),
  comment: (f) => f.e.metainfo?.comment ?? '',
  creator: (f) => f.e.metainfo?.createdBy ?? '',
  magnetLink: (f) => f.e.record.magnet ?? `magnet:?xt=urn:btih:${f.e.hex}`,
  queuePosition: (f) => f.e.id,
  fileCount: (f) => f.e.metainfo?.files.length ?? 0,
  files: (f) => (f.e.metainfo?.files ?? []).map((file, i) => ({ name: filePath(f.e, i), length: file.length, bytesCompleted: f.fileDone[i] ?? 0 })),
  fileStats: (f) => {
    const wanted = f.e.wanted();
    return (f.e.metainfo?.files ?? []).map((_, i) => ({ bytesCompleted: f.fileDone[i] ?? 0, wanted: wanted[i] === true, priority: 0 }));
  },
  wanted: (f) => f.e.wanted().map((w) => (w ? 1 : 0)),
  priorities: (f) => (f.e.metainfo?.files ?? []).map(() => 0),
  peers: (f) =>
    (f.e.torrent?.peerList() ?? []).map((p) => {
      const at = p.address.lastIndexOf(':');
      return {
        address: p.address.slice(0, at).replace(/^\[|\]$/g, ''),
        port: Number(p.address.slice(at + 1)),
        clientName: p.client ?? '',
        rateToClient: Math.round(p.downRateBps),
        rateToPeer: 0,
        progress: 0,
        flagStr: '',
        isEncrypted: false,
        isIncoming: false,
        isDownloadingFrom: p.downRateBps > 0,
        isUploadingTo: false,
      };
    }),
  trackers: (f) => (f.e.metainfo?.announceTiers ?? []).flatMap((tier, t) => tier.map((url, i) => ({ id: t * 1000 + i, announce: url, scrape: '', tier: t }))),
  trackerStats: (f) =>
    (f.e.torrent?.trackerStatus() ?? []).map((t, i) => ({
      id: i,
      announce: t.url,
      tier: t.tier,
      host: t.url,
      lastAnnounceSucceeded: t.failures === 0 && t.lastAnnounceAt !== undefined,
      lastAnnounceResult: t.lastError?.message ?? t.warning ?? (t.lastAnnounceAt !== undefined ? 'Success' : ''),
      lastAnnouncePeerCount: t.peers ?? 0,
      seederCount: t.complete ?? -1,
      leecherCount: t.incomplete ?? -1,
      announceState: 0,
    })),
  webseeds: (f) => f.e.metainfo?.webSeeds ?? [],
  seedRatioMode: () => 2,
  seedRatioLimit: () => 0,
  seedIdleMode: () => 2,
  downloadLimit: () => 0,
  downloadLimited: () => false,
  uploadLimit: () => 0,
  uploadLimited: () => false,
  honorsSessionLimits: () => true,
  bandwidthPriority: () => 0,
  'peer-limit': () => 0,
  secondsDownloading: () => 0,
  secondsSeeding: () => 0,
  manualAnnounceTime: () => -1,
  labels: () => [],
};

export const KNOWN_FIELDS: ReadonlySet<string> = new Set(Object.keys(FIELDS));

/** One torrent as torrent-get returns it, with the fields asked for (known ones only). */
export function torrentFields(e: Entry, fields: readonly string[]): Record<string, unknown> {
  const f = facts(e);
  const out: Record<string, unknown> = {};
  for (const name of fields) {
    const get = Object.hasOwn(FIELDS, name) ? FIELDS[name] : undefined;
    if (get !== undefined) out[name] = get(f);
  }
  return out;
}
