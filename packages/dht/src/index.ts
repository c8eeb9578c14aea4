export { DhtError, isDhtError, type DhtErrorCode, type DhtErrorDetails } from './errors.js';
export { DhtNode } from './node.js';
export {
  ANNOUNCE_INTERVAL_MS,
  MAINTENANCE_INTERVAL_MS,
  REBOOTSTRAP_INTERVAL_MS,
  type BootstrapResult,
  type DhtNodeEvents,
  type DhtNodeOptions,
  type DhtTransport,
} from './node-options.js';
export { EXTERNAL_ADDRESS_VOTES } from './external-address.js';
export { DhtSearch, type SearchResult } from './search.js';
export type { DhtStats, DropReason } from './stats.js';
export { bindDhtNode, isKrpcDatagram, type BindOptions, type BoundDhtNode } from './udp.js';
export { encodeState, decodeState, MAX_SAVED_NODES, type DhtState } from './state.js';
export { NODE_ID_BYTES, compareDistance, randomNodeId, type Contact, type Endpoint, type Family, type PeerAddress } from './ids.js';
export { isBep42Exempt, isSecureNodeId, secureNodeId } from './bep42.js';
export { ALPHA, type LookupStats } from './lookup.js';
export { K, BUCKET_REFRESH_MS, GOOD_FOR_MS } from './routing-table.js';
export { QUERY_TIMEOUT_MS, QUERY_SLOW_MS } from './rpc.js';
export { TOKEN_ROTATE_MS } from './tokens.js';
export { PEER_TTL_MS, MAX_STORED_INFO_HASHES, MAX_PEERS_PER_INFO_HASH, MAX_STORED_PEERS } from './peer-store.js';
export { DEFAULT_RATE_LIMIT, type RateLimitOptions } from './rate-limit.js';
// The pure codec, for tools that speak KRPC themselves (probes, fuzzers).
export {
  decodeKrpc,
  encodeQuery,
  encodeResponse,
  encodeError,
  MAX_KRPC_BYTES,
  type KrpcMessage,
  type Query,
  type QueryMessage,
  type ResponseMessage,
  type ErrorMessage,
  type ResponseBody,
} from './krpc.js';
export { hostileKrpcDatagrams } from './fuzz.js';
