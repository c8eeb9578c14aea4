/**
 * Every way the DHT can fail, as a literal code. Bad datagrams from the network are counted and
 * dropped by the node; only calls the engine makes (lookup, announce, ping, decodeState) reject.
 */
export type DhtErrorCode =
  /** A datagram larger than the node accepts (checked before decoding). */
  | 'DHT_TOO_LARGE'
  /** Not a bencoded dictionary, or bencode that breaks a rule (the codec's error is the cause). */
  | 'DHT_BAD_MESSAGE'
  /** The `t` transaction id is missing, empty or too long (BEP 5). */
  | 'DHT_BAD_TRANSACTION_ID'
  /** The `y` message type is missing or not `q`, `r` or `e` (BEP 5). */
  | 'DHT_BAD_TYPE'
  /** A field is missing, of the wrong type, or out of its bounds; `field` names it. */
  | 'DHT_BAD_FIELD'
  /** A value handed to an encoder or to a public method is out of range (a caller bug or bad input). */
  | 'DHT_BAD_ARGUMENT'
  /** A query we sent got no answer in time. */
  | 'DHT_TIMEOUT'
  /** A query we sent was answered with a KRPC error (`code` and `message` from the remote). */
  | 'DHT_ERROR_REPLY'
  /** Too many of our own queries are already in flight. */
  | 'DHT_BUSY'
  /** The node was stopped while the call was pending. */
  | 'DHT_STOPPED'
  /** A saved routing-table state that is not what `encodeState` writes. */
  | 'DHT_BAD_STATE';

export interface DhtErrorDetails {
  /** The field at fault, e.g. `a.info_hash` or `r.nodes`. */
  readonly field?: string;
  /** The transaction id, when it was read before the problem was found (so a query can be answered with error 203). */
  readonly transactionId?: Buffer;
  /** Whether the datagram was a query (`y` = `q`): only queries get an error reply. */
  readonly isQuery?: boolean;
  /** A KRPC error code (BEP 5: 201 generic, 202 server, 203 protocol, 204 method unknown). */
  readonly remoteCode?: number;
  readonly cause?: unknown;
}

/** The one error class of the dht package. */
export class DhtError extends Error {
  override readonly name = 'DhtError';
  readonly code: DhtErrorCode;
  readonly field: string | undefined;
  readonly transactionId: Buffer | undefined;
  readonly isQuery: boolean;
  readonly remoteCode: number | undefined;

  constructor(code: DhtErrorCode, message: string, details: DhtErrorDetails = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.code = code;
    this.field = details.field;
    this.transactionId = details.transactionId;
    this.isQuery = details.isQuery ?? false;
    this.remoteCode = details.remoteCode;
  }
}

export function isDhtError(e: unknown): e is DhtError {
  return e instanceof DhtError;
}
