import { invariant } from '../errors.js';
import type { TorrentLayout } from '../layout.js';
import { BLOCK_BYTES, blockCount, blockSize, pieceSize } from '../layout.js';
import { AvailabilityBuckets } from './buckets.js';

/** What the picker needs to know of a peer's pieces. */
export interface PieceSet {
  has(index: number): boolean;
}

/** A block to request: piece index, byte offset in the piece, length. */
export interface BlockRequest {
  readonly piece: number;
  readonly offset: number;
  readonly length: number;
}

/** Pieces picked at random before rarest-first takes over, so a new peer soon has something to trade (BEP 3 practice). */
export const RANDOM_FIRST_PIECES = 4;
/** In endgame, at most this many peers are asked for the same block: more only wastes their upload. */
export const ENDGAME_MAX_REQUESTERS = 3;

const MISSING = 0;
const REQUESTED = 1;
const RECEIVED = 2;

interface ActivePiece {
  readonly index: number;
  /** Per block: MISSING, REQUESTED or RECEIVED. */
  readonly state: Uint8Array;
  /** Per block: peers that have an outstanding request for it (non-empty iff REQUESTED). */
  readonly requesters: (number[] | undefined)[];
  /** Peers whose blocks were accepted into this piece: blamed together if it fails its hash. */
  readonly senders: Set<number>;
  missing: number;
  received: number;
  /** A peer on parole downloads a piece alone, so a failure can be pinned on it. */
  exclusive: number | undefined;
}

export type BlockOutcome =
  /** Accepted; `complete` says the piece now has every block and must be verified. */
  | { kind: 'accepted'; complete: boolean; cancel: number[] }
  /** Not requested from this peer, or already received: waste (RELIABILITY.md case 24). */
  | { kind: 'unrequested' }
  | { kind: 'duplicate' };

export interface PickerOptions {
  /** Uniform in [0, 1); injected for deterministic tests. */
  readonly random?: () => number;
  readonly randomFirstPieces?: number;
  /** Start pieces in index order instead of rarest first (`tc-download --sequential`); endgame is unchanged. */
  readonly sequential?: boolean;
}

interface PeerEntry {
  readonly pieces: PieceSet;
  /** Outstanding requests, block key → time sent (ms). */
  readonly requests: Map<number, number>;
  parole: boolean;
}

/**
 * Piece and block bookkeeping, and the policy of what to ask whom for: rarest-first with random
 * tie-breaking, a few random first pieces, finish started pieces first, endgame. Pure: no I/O, no clock.
 * Invariants are in ../../STATE.md.
 */
export class PiecePicker {
  readonly pieceCount: number;
  /** Number of connected peers that have each piece. */
  readonly availability: Uint32Array;
  /** 1 when the piece is verified and stored. */
  private readonly have: Uint8Array;
  /** 0 = not wanted (BEP-less file priorities, issue 6), otherwise wanted. */
  private readonly priority: Uint8Array;
  /** 1 while a complete piece is being hashed and written. */
  private readonly verifying: Uint8Array;
  private readonly active = new Map<number, ActivePiece>();
  private readonly peers = new Map<number, PeerEntry>();
  private readonly blocksPerPiece: number;
  private readonly random: () => number;
  private readonly randomFirst: number;
  private sequentialOn: boolean;
  /** Pieces readers need next (stream/), most urgent first: started before any other, beyond the buffer budget. */
  private urgent: readonly number[] = [];
  private haveCount = 0;
  private wantedLeft: number;
  /** Count of wanted pieces with no block requested or received (the "queued" state). */
  private queued: number;
  /** Bytes of `have` pieces, kept as pieces change state so progress never scans every piece. */
  private haveByteCount = 0;
  /** Bytes of pieces neither `have` nor `skipped` (queued, active, verifying): what is left to fetch. */
  private leftByteCount: number;
  /** The queued pieces by availability (buckets.ts): picking is not a scan of every piece. */
  private readonly queue: AvailabilityBuckets;

  constructor(
    readonly layout: TorrentLayout,
    options: PickerOptions = {},
  ) {
    this.pieceCount = layout.pieceCount;
    this.availability = new Uint32Array(this.pieceCount);
    this.have = new Uint8Array(this.pieceCount);
    this.priority = new Uint8Array(this.pieceCount).fill(1);
    this.verifying = new Uint8Array(this.pieceCount);
    this.blocksPerPiece = Math.ceil(layout.pieceLength / BLOCK_BYTES);
    this.random = options.random ?? Math.random;
    this.randomFirst = options.randomFirstPieces ?? RANDOM_FIRST_PIECES;
    this.sequentialOn = options.sequential === true;
    this.wantedLeft = this.pieceCount;
    this.queued = this.pieceCount;
    this.leftByteCount = layout.totalLength;
    this.queue = new AvailabilityBuckets(this.pieceCount, this.availability);
  }

  /** Puts piece i in or out of the queue after a change of its state. */
  private syncQueued(i: number): void {
    if (this.isQueued(i)) this.queue.add(i);
    else this.queue.remove(i);
  }

  // ---- pieces we have and want ----

  hasPiece(i: number): boolean {
    return this.have[i] === 1;
  }

  get piecesHave(): number {
    return this.haveCount;
  }

  /** Bytes of verified pieces, wanted or not. O(1). */
  get haveBytes(): number {
    return this.haveByteCount;
  }

  /** Bytes of pieces still to fetch: wanted ones not yet `have`, and unwanted ones already in flight. O(1). */
  get leftBytes(): number {
    return this.leftByteCount;
  }

  /** True when every wanted piece is verified. */
  get done(): boolean {
    return this.wantedLeft === 0;
  }

  /** True when no wanted piece is left untouched: the last blocks go to several peers. */
  get endgame(): boolean {
    return this.queued === 0 && !this.done;
  }

  /** Marks a piece as already present (resume, recheck). */
  markHave(i: number): void {
    if (this.have[i] === 1) return;
    // Only a skipped piece (unwanted, not in flight) was not counted as left.
    if (this.priority[i] !== 0 || this.active.has(i) || this.verifying[i] === 1) this.leftByteCount -= pieceSize(this.layout, i);
    const a = this.active.get(i);
    if (a !== undefined) this.dropActive(a);
    else if (this.priority[i] !== 0 && this.verifying[i] === 0) this.queued--;
    this.verifying[i] = 0;
    this.setHave(i);
    this.syncQueued(i);
  }

  private setHave(i: number): void {
    this.have[i] = 1;
    this.haveCount++;
    this.haveByteCount += pieceSize(this.layout, i);
    if (this.priority[i] !== 0) this.wantedLeft--;
  }

  /** Sets whether a piece is wanted (file priorities, issue 6). Pieces in flight stay in flight. */
  setWanted(i: number, wanted: boolean): void {
    const was = this.priority[i] !== 0;
    if (was === wanted) return;
    this.priority[i] = wanted ? 1 : 0;
    if (this.have[i] === 1) return;
    this.wantedLeft += wanted ? 1 : -1;
    if (!this.active.has(i) && this.verifying[i] === 0) {
      // queued ⇄ skipped; a piece in flight stays counted as left either way.
      this.queued += wanted ? 1 : -1;
      this.leftByteCount += wanted ? pieceSize(this.layout, i) : -pieceSize(this.layout, i);
    }
    this.syncQueued(i);
  }

  /** Whether new pieces are started in index order (see PickerOptions.sequential). */
  get sequential(): boolean {
    return this.sequentialOn;
  }

  setSequential(on: boolean): void {
    this.sequentialOn = on;
  }

  /**
   * The pieces that readers wait for, most urgent first (stream/window.ts bounds the list): `pick`
   * starts them before any other, even when the piece-buffer budget is spent (the list is a few MiB).
   * Unwanted pieces in it are not fetched: the caller makes them wanted first.
   */
  setUrgent(pieces: readonly number[]): void {
    this.urgent = pieces;
  }

  // ---- peers and availability ----

  addPeer(id: number, pieces: PieceSet): void {
    invariant(!this.peers.has(id), `peer ${id} added twice`);
    this.peers.set(id, { pieces, requests: new Map(), parole: false });
    for (let i = 0; i < this.pieceCount; i++) if (pieces.has(i)) this.queue.changeAvailability(i, 1);
  }

  /** The peer announced a new piece (`have`, BEP 3). Call after its PieceSet includes it. */
  peerHave(_id: number, i: number): void {
    this.queue.changeAvailability(i, 1);
  }

  /** Removes a peer; its outstanding requests go back to missing. */
  removePeer(id: number): void {
    const p = this.peers.get(id);
    if (p === undefined) return;
    this.releaseAll(id);
    for (let i = 0; i < this.pieceCount; i++) if (p.pieces.has(i)) this.queue.changeAvailability(i, -1);
    this.peers.delete(id);
  }

  setParole(id: number, parole: boolean): void {
    const p = this.peers.get(id);
    if (p !== undefined) p.parole = parole;
  }

  /** True when the peer has any piece we still want. */
  interesting(id: number): boolean {
    const p = this.peers.get(id);
    if (p === undefined) return false;
    for (let i = 0; i < this.pieceCount; i++) {
      if (this.have[i] === 0 && this.priority[i] !== 0 && p.pieces.has(i)) return true;
    }
    return false;
  }

  /** True when the peer has piece `i` and we want it (used on `have`, cheaper than `interesting`). */
  wants(i: number): boolean {
    return this.have[i] === 0 && this.priority[i] !== 0;
  }

  /** Pieces started and not complete (`active`): each holds, or will on its first block, a piece buffer. */
  get activeCount(): number {
    return this.active.size;
  }

  outstanding(id: number): number {
    return this.peers.get(id)?.requests.size ?? 0;
  }

  /** Outstanding requests of a peer with the time each was sent. */
  requestsOf(id: number): ReadonlyMap<number, number> {
    return this.peers.get(id)?.requests ?? new Map();
  }

  blockKey(piece: number, offset: number): number {
    return piece * this.blocksPerPiece + offset / BLOCK_BYTES;
  }

  requestOfKey(key: number): BlockRequest {
    const piece = Math.floor(key / this.blocksPerPiece);
    const b = key - piece * this.blocksPerPiece;
    return { piece, offset: b * BLOCK_BYTES, length: blockSize(this.layout, piece, b) };
  }

  // ---- picking ----

  /**
   * Picks up to `max` blocks to request from peer `id`, records them as requested at time `now`.
   * `allowed` restricts the pieces (BEP 6 allowed-fast while choked); at most `newPieces` pieces are
   * started (the torrent's budget of piece buffers): started ones are finished first either way.
   */
  pick(id: number, max: number, now: number, allowed?: PieceSet, newPieces = Infinity): BlockRequest[] {
    const peer = this.peers.get(id);
    if (peer === undefined || max <= 0) return [];
    const out: BlockRequest[] = [];
    const can = (i: number): boolean => peer.pieces.has(i) && (allowed === undefined || allowed.has(i));

    // 1. Finish started pieces first (their buffers are already held in memory), those readers wait for first.
    const canFinish = (a: ActivePiece | undefined): a is ActivePiece =>
      a !== undefined && a.missing > 0 && can(a.index) && (a.exclusive === undefined || a.exclusive === id) && (!peer.parole || a.exclusive === id);
    for (const i of this.urgent) {
      const a = this.active.get(i);
      if (canFinish(a)) this.takeMissing(a, id, peer, max, now, out);
    }
    for (const a of this.active.values()) {
      if (out.length >= max) return out;
      if (canFinish(a)) this.takeMissing(a, id, peer, max, now, out);
    }
    // 2. Start new pieces: the ones readers wait for (whatever the budget), then a few random ones and
    //    rarest first, or in order when sequential.
    for (let started = 0; out.length < max && this.queued > 0; started++) {
      let i = this.urgentPiece(can);
      if (i < 0) {
        if (started >= newPieces) break;
        i = this.sequentialOn
          ? this.firstPiece(can)
          : this.haveCount < this.randomFirst
            ? this.queue.random(can, this.random)
            : this.queue.rarest(can, this.random);
      }
      if (i < 0) break;
      const a = this.activate(i);
      if (peer.parole) a.exclusive = id;
      this.takeMissing(a, id, peer, max, now, out);
    }
    // 3. Endgame: ask for blocks already requested from others, fewest requesters first.
    if (out.length < max && this.queued === 0 && !peer.parole) this.pickEndgame(id, peer, max, now, out, can);
    return out;
  }

  private takeMissing(a: ActivePiece, id: number, peer: PeerEntry, max: number, now: number, out: BlockRequest[]): void {
    for (let b = 0; b < a.state.length && out.length < max && a.missing > 0; b++) {
      if (a.state[b] !== MISSING) continue;
      a.state[b] = REQUESTED;
      a.requesters[b] = [id];
      a.missing--;
      const key = a.index * this.blocksPerPiece + b;
      peer.requests.set(key, now);
      out.push({ piece: a.index, offset: b * BLOCK_BYTES, length: blockSize(this.layout, a.index, b) });
    }
  }

  private pickEndgame(id: number, peer: PeerEntry, max: number, now: number, out: BlockRequest[], can: (i: number) => boolean): void {
    for (let round = 1; round < ENDGAME_MAX_REQUESTERS && out.length < max; round++) {
      for (const a of this.active.values()) {
        if (!can(a.index) || a.exclusive !== undefined) continue;
        for (let b = 0; b < a.state.length && out.length < max; b++) {
          const r = a.requesters[b];
          if (a.state[b] !== REQUESTED || r === undefined || r.length !== round || r.includes(id)) continue;
          r.push(id);
          peer.requests.set(a.index * this.blocksPerPiece + b, now);
          out.push({ piece: a.index, offset: b * BLOCK_BYTES, length: blockSize(this.layout, a.index, b) });
        }
        if (out.length >= max) return;
      }
    }
  }

  private urgentPiece(can: (i: number) => boolean): number {
    for (const i of this.urgent) if (i >= 0 && i < this.pieceCount && this.isQueued(i) && can(i)) return i;
    return -1;
  }

  private firstPiece(can: (i: number) => boolean): number {
    for (let i = 0; i < this.pieceCount; i++) if (this.isQueued(i) && can(i)) return i;
    return -1;
  }

  private isQueued(i: number): boolean {
    return this.have[i] === 0 && this.priority[i] !== 0 && this.verifying[i] === 0 && !this.active.has(i);
  }

  private activate(i: number): ActivePiece {
    const n = blockCount(this.layout, i);
    const a: ActivePiece = {
      index: i,
      state: new Uint8Array(n),
      requesters: new Array<number[] | undefined>(n).fill(undefined),
      senders: new Set(),
      missing: n,
      received: 0,
      exclusive: undefined,
    };
    this.active.set(i, a);
    this.queued--;
    this.syncQueued(i);
    return a;
  }

  private dropActive(a: ActivePiece): void {
    for (let b = 0; b < a.state.length; b++) {
      for (const pid of a.requesters[b] ?? []) this.peers.get(pid)?.requests.delete(a.index * this.blocksPerPiece + b);
    }
    this.active.delete(a.index);
    this.syncQueued(a.index);
  }

  // ---- events ----

  /**
   * A block arrived from peer `id`. Returns whether it is accepted, and the peers whose duplicate
   * requests for it should now be cancelled (endgame).
   */
  onBlock(id: number, piece: number, offset: number, length: number): BlockOutcome {
    const peer = this.peers.get(id);
    const a = this.active.get(piece);
    if (peer === undefined || a === undefined || offset % BLOCK_BYTES !== 0) return { kind: 'unrequested' };
    const b = offset / BLOCK_BYTES;
    const key = piece * this.blocksPerPiece + b;
    if (b >= a.state.length || length !== blockSize(this.layout, piece, b)) return { kind: 'unrequested' };
    const askedThis = peer.requests.delete(key);
    if (a.state[b] === RECEIVED) return askedThis ? { kind: 'duplicate' } : { kind: 'unrequested' };
    if (!askedThis) return { kind: 'unrequested' };
    const others = (a.requesters[b] ?? []).filter((p) => p !== id);
    for (const p of others) this.peers.get(p)?.requests.delete(key);
    a.requesters[b] = undefined;
    a.senders.add(id);
    a.state[b] = RECEIVED;
    a.received++;
    const complete = a.received === a.state.length;
    if (complete) {
      this.active.delete(piece);
      this.lastSenders.set(piece, a.senders);
      this.verifying[piece] = 1;
    }
    return { kind: 'accepted', complete, cancel: others };
  }

  /** Peers that sent blocks of a complete piece being verified (call before passed/failed). */
  sendersOf(piece: number): number[] {
    return [...(this.lastSenders.get(piece) ?? [])];
  }

  /** Senders of pieces in the verifying state (they left `active` when complete). */
  private readonly lastSenders = new Map<number, Set<number>>();

  /** The piece hashed right and is stored. */
  piecePassed(i: number): void {
    invariant(this.verifying[i] === 1, `piece ${i} passed but was not verifying`);
    this.lastSenders.delete(i);
    this.verifying[i] = 0;
    this.leftByteCount -= pieceSize(this.layout, i);
    this.setHave(i);
  }

  /** The piece hashed wrong (or could not be stored): back to queued, to be downloaded again. */
  pieceFailed(i: number): void {
    invariant(this.verifying[i] === 1, `piece ${i} failed but was not verifying`);
    this.lastSenders.delete(i);
    this.verifying[i] = 0;
    if (this.priority[i] !== 0) this.queued++;
    else this.leftByteCount -= pieceSize(this.layout, i); // unwanted meanwhile: now skipped
    this.syncQueued(i);
  }

  /** A request timed out or was rejected (BEP 6): the block goes back to missing if nobody else asked. */
  release(id: number, piece: number, offset: number): void {
    // An offset past the piece (or unaligned) names no block; its key would be another piece's block.
    if (offset % BLOCK_BYTES !== 0 || offset >= this.layout.pieceLength) return;
    const peer = this.peers.get(id);
    const key = piece * this.blocksPerPiece + offset / BLOCK_BYTES;
    if (peer === undefined || !peer.requests.delete(key)) return;
    const a = this.active.get(piece);
    if (a === undefined) return;
    const b = offset / BLOCK_BYTES;
    const r = a.requesters[b];
    if (a.state[b] !== REQUESTED || r === undefined) return;
    const left = r.filter((p) => p !== id);
    if (left.length > 0) {
      a.requesters[b] = left;
      return;
    }
    a.requesters[b] = undefined;
    a.state[b] = MISSING;
    a.missing++;
    this.maybeRequeue(a);
  }

  /** Releases every outstanding request of a peer (choke without fast extension, disconnect, snub). */
  releaseAll(id: number): BlockRequest[] {
    const peer = this.peers.get(id);
    if (peer === undefined) return [];
    const out: BlockRequest[] = [];
    for (const key of [...peer.requests.keys()]) {
      const r = this.requestOfKey(key);
      out.push(r);
      this.release(id, r.piece, r.offset);
    }
    for (const a of this.active.values()) if (a.exclusive === id) a.exclusive = undefined;
    return out;
  }

  /** An active piece with nothing requested or received goes back to queued, so rarest-first can choose again. */
  private maybeRequeue(a: ActivePiece): void {
    if (a.missing === a.state.length && a.received === 0) this.requeue(a);
  }

  private requeue(a: ActivePiece): void {
    this.active.delete(a.index);
    if (this.priority[a.index] !== 0) this.queued++;
    else this.leftByteCount -= pieceSize(this.layout, a.index); // unwanted meanwhile: now skipped
    this.syncQueued(a.index);
  }

  /**
   * Gives up a started piece that nobody is fetching (no block requested): its received blocks are
   * dropped and it is queued again, freeing its buffer for a piece peers can deliver. Returns the
   * bytes dropped, or undefined when it is not active or a block of it is still requested.
   */
  abandon(i: number): number | undefined {
    const a = this.active.get(i);
    if (a === undefined || a.missing + a.received !== a.state.length) return undefined;
    let bytes = 0;
    for (let b = 0; b < a.state.length; b++) if (a.state[b] === RECEIVED) bytes += blockSize(this.layout, i, b);
    this.requeue(a);
    return bytes;
  }

  // ---- introspection for tests and STATE.md checks ----

  /** The state of a piece, as named in STATE.md. */
  pieceState(i: number): 'have' | 'verifying' | 'active' | 'queued' | 'skipped' {
    if (this.have[i] === 1) return 'have';
    if (this.verifying[i] === 1) return 'verifying';
    if (this.active.has(i)) return 'active';
    return this.priority[i] !== 0 ? 'queued' : 'skipped';
  }

  /** Checks the invariants of STATE.md; throws EngineBug when one is broken. O(pieces + requests). */
  checkInvariants(): void {
    let queued = 0;
    let wantedLeft = 0;
    let have = 0;
    let haveBytes = 0;
    let leftBytes = 0;
    for (let i = 0; i < this.pieceCount; i++) {
      const s = this.pieceState(i);
      if (s === 'have') have++;
      if (s === 'queued') queued++;
      if (s === 'have') haveBytes += pieceSize(this.layout, i);
      else if (s !== 'skipped') leftBytes += pieceSize(this.layout, i);
      if (s !== 'have' && this.priority[i] !== 0) wantedLeft++;
      invariant(!(this.have[i] === 1 && (this.verifying[i] === 1 || this.active.has(i))), `piece ${i} in two states`);
      invariant(!(this.verifying[i] === 1 && this.active.has(i)), `piece ${i} verifying and active`);
      invariant((s === 'queued') === this.queue.has(i), `piece ${i} is ${s} but ${this.queue.has(i) ? 'in' : 'not in'} the queue`);
      invariant(this.queue.inPlace(i), `piece ${i} not in its availability bucket`);
    }
    invariant(this.queue.size === queued && this.queue.counted() === queued, `queue holds ${this.queue.counted()} pieces, ${queued} queued`);
    invariant(queued === this.queued, `queued count ${this.queued} != ${queued}`);
    invariant(wantedLeft === this.wantedLeft, `wanted count ${this.wantedLeft} != ${wantedLeft}`);
    invariant(have === this.haveCount, `have count ${this.haveCount} != ${have}`);
    invariant(haveBytes === this.haveByteCount, `have bytes ${this.haveByteCount} != ${haveBytes}`);
    invariant(leftBytes === this.leftByteCount, `left bytes ${this.leftByteCount} != ${leftBytes}`);
    const expected = new Map<number, Set<number>>();
    for (const a of this.active.values()) {
      let missing = 0;
      let received = 0;
      for (let b = 0; b < a.state.length; b++) {
        const st = a.state[b];
        const r = a.requesters[b];
        if (st === MISSING) missing++;
        if (st === RECEIVED) received++;
        invariant((st === REQUESTED) === (r !== undefined && r.length > 0), `block ${a.index}/${b} requesters do not match state`);
        for (const pid of r ?? []) {
          let set = expected.get(pid);
          if (set === undefined) expected.set(pid, (set = new Set()));
          set.add(a.index * this.blocksPerPiece + b);
        }
      }
      invariant(missing === a.missing && received === a.received, `piece ${a.index} counters wrong`);
      invariant(a.received > 0 || a.missing < a.state.length, `piece ${a.index} active with nothing in flight`);
    }
    for (const [pid, p] of this.peers) {
      const e = expected.get(pid) ?? new Set();
      invariant(e.size === p.requests.size, `peer ${pid} has ${p.requests.size} requests, blocks say ${e.size}`);
      for (const k of p.requests.keys()) invariant(e.has(k), `peer ${pid} request ${k} unknown to its block`);
    }
  }
}
