export { UtpBug, UtpError, isUtpError, type UtpErrorCode, type UtpErrorDetails } from './errors.js';
export { SEQ_MASK, seqAdd, seqDistance, seqLess, timeDistance, timeLess } from './seq.js';
export {
  EXTENSION_BITS,
  EXTENSION_CLOSE_REASON,
  EXTENSION_SACK,
  HEADER_BYTES,
  MAX_EXTENSIONS,
  MAX_SACK_BYTES,
  PACKET_TYPE_NAMES,
  PacketType,
  UTP_VERSION,
  decodePacket,
  encodePacket,
  sackHas,
  writeHeader,
  type Packet,
  type PacketHeader,
  type PacketInit,
} from './packet.js';
export { classifyDatagram, type DatagramOwner } from './demux.js';
export { INITIAL_RTO_MS, MAX_RTO_MS, MIN_RTO_MS, RttEstimator } from './rtt.js';
export { CURRENT_DELAY_SAMPLES, DELAY_BASE_BUCKETS, DELAY_BASE_BUCKET_MS, DelayHistory } from './delay.js';
export { LOSS_DECAY_INTERVAL_MS, LOSS_FACTOR, Ledbat, MAX_CWND_INCREASE_BYTES_PER_RTT, TARGET_DELAY_US, type LedbatOptions } from './ledbat.js';
export {
  DEFAULT_PACKET_BYTES,
  DEFAULT_RECV_BUFFER_BYTES,
  DEFAULT_SEND_BUFFER_BYTES,
  KEEPALIVE_INTERVAL_MS,
  MAX_PACKET_BYTES,
  MIN_PACKET_BYTES,
  type CloseReason,
  type ConnectionHandlers,
  type ConnectionIds,
  type ConnectionOptions,
  type ConnectionState,
  type ConnectionStats,
} from './connection-options.js';
export { UtpConnection } from './connection.js';
export { MAX_PACKETS_IN_FLIGHT } from './send-buffer.js';
export { MAX_REORDER_DISTANCE } from './reorder.js';
export { UtpStream } from './stream.js';
export {
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_HALF_OPEN,
  DEFAULT_MAX_RESETS_PER_SECOND,
  UtpSocket,
  type DatagramSender,
  type RemoteAddress,
  type UtpSocketOptions,
  type UtpSocketStats,
} from './socket.js';
export { listenUtp, type UtpUdpEndpoint, type UtpUdpOptions } from './udp.js';
