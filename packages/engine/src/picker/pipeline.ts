import { BLOCK_BYTES } from '../layout.js';

/** Seconds of data to keep requested from a peer: covers its disk and network latency (libtorrent's request_queue_time is 3 s). */
export const REQUEST_QUEUE_TIME_S = 2;
/** Requests kept in flight before the rate is known: enough to fill a fast link quickly. */
export const MIN_PIPELINE_BLOCKS = 16;
/** Upper bound whatever the peer allows: 8 MiB in flight per peer is far beyond any bandwidth-delay product we meet. */
export const MAX_PIPELINE_BLOCKS = 512;
/** `reqq` assumed when a peer does not send one in its BEP 10 extended handshake (libtorrent's default). */
export const DEFAULT_REQQ = 250;

/**
 * How many requests to keep outstanding with a peer: its measured rate × the queue time (bandwidth ×
 * delay), bounded below so a new peer can show its speed and above by the peer's `reqq` (BEP 10).
 */
export function pipelineDepth(rateBps: number, reqq: number = DEFAULT_REQQ, snubbed = false): number {
  if (snubbed) return 1;
  const want = Math.ceil((rateBps * REQUEST_QUEUE_TIME_S) / BLOCK_BYTES);
  const cap = Math.max(1, Math.min(reqq, MAX_PIPELINE_BLOCKS));
  return Math.min(cap, Math.max(MIN_PIPELINE_BLOCKS, want));
}
