export { TrackerError, isTrackerError, TRACKER_ERROR_CODES, type TrackerErrorCode, type TrackerErrorDetails } from './errors.js';
export type { Peer, AnnounceEvent, AnnounceRequest, AnnounceResult, ScrapeEntry, ScrapeResult } from './types.js';
export { MAX_PEERS_PER_REPLY, parseCompactPeers, encodeCompactPeers, ipv4ToString, ipv6ToString, type PeerList } from './compact-peers.js';
export { isPrivateHost } from './address.js';
export { buildAnnounceUrl, buildScrapeUrl, scrapeUrlFor, parseAnnounceReply, parseScrapeReply, percentEncodeBytes } from './http/protocol.js';
export {
  httpAnnounce,
  httpScrape,
  httpGet,
  createTrackerAgent,
  type HttpDispatcher,
  HTTP_TIMEOUT_MS,
  MAX_HTTP_BODY_BYTES,
  MAX_REDIRECTS,
  type HttpTrackerOptions,
  type HttpExchange,
  type HttpResponse,
} from './http/client.js';
export {
  buildConnectRequest,
  buildAnnounceRequest,
  buildScrapeRequest,
  parseUdpReply,
  MAX_UDP_REPLY_BYTES,
  MAX_UDP_SCRAPE_HASHES,
  type UdpReply,
} from './udp/protocol.js';
export { ConnectionIdCache, TransactionTable, CONNECTION_ID_LIFETIME_MS, type Endpoint } from './udp/transactions.js';
export {
  UdpTrackerClient,
  parseUdpUrl,
  UDP_RETRANSMIT_BASE_MS,
  UDP_MAX_RETRANSMITS,
  type UdpSocketLike,
  type UdpSocketFactory,
  connectUdpSocket,
  MAX_CONNECTED_UDP_SOCKETS,
  type ConnectedUdpSocketLike,
  type ConnectedUdpSocketFactory,
  type UdpTrackerClientOptions,
  type Lookup,
} from './udp/client.js';
export { TrackerClient, schemeOf, type TrackerTransport, type TrackerClientOptions } from './transport.js';
export {
  TrackerSet,
  MIN_ANNOUNCE_INTERVAL_S,
  BACKOFF_BASE_MS,
  BACKOFF_MAX_MS,
  STOP_TIMEOUT_MS,
  type TrackerSetOptions,
  type TrackerSetEvents,
  type TrackerStatus,
  type TrackerState,
  type AnnounceOutcome,
} from './tiers.js';
export { answeredCode, printable, probeError, roundMs, type ProbeError } from './probe/explain.js';
export {
  TrackerProber,
  trackerHostPort,
  type DateSeen,
  type ProbeStep,
  type RawExchange,
  type ReachProbe,
  type TrackerProberOptions,
  type TrackerReach,
} from './probe/prober.js';
export { diagnoseTracker, type DiagnoseOptions, type DiagnosisStep, type TrackerDiagnosis } from './probe/diagnose.js';
