import type { LookupStats } from './lookup.js';

export type DropReason = 'malformed' | 'rate-limited' | 'self' | 'unexpected' | 'family';

export interface DhtStats {
  readonly id: string;
  /** Routing-table members per family. */
  readonly nodes: { readonly 4: number; readonly 6: number };
  readonly buckets: { readonly 4: number; readonly 6: number };
  /** Queries answered, by method (`unknown` for methods we do not serve). */
  readonly queriesIn: Readonly<Record<string, number>>;
  /** Queries answered with an error (bad token, unknown method). */
  readonly refused: number;
  /** Queries sent, by method. */
  readonly queriesOut: Readonly<Record<string, number>>;
  readonly responsesIn: number;
  readonly errorRepliesIn: number;
  readonly timeouts: number;
  /** Datagrams dropped, by reason. */
  readonly dropped: Readonly<Record<DropReason, number>>;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly datagramsIn: number;
  readonly datagramsOut: number;
  readonly inFlight: number;
  readonly storedInfoHashes: number;
  readonly storedPeers: number;
  readonly rateLimitKeys: number;
  readonly externalAddress: string | undefined;
  /** Lookups finished and what they cost in all. */
  readonly lookups: number;
  readonly lookupQueries: number;
}

type Snapshot = Pick<DhtStats, 'id' | 'nodes' | 'buckets' | 'inFlight' | 'storedInfoHashes' | 'storedPeers' | 'rateLimitKeys' | 'externalAddress'>;

/** The node's counters. Keys of the per-method maps are bounded: methods we serve plus `unknown`. */
export class NodeStats {
  private readonly qIn: Record<string, number> = {};
  private readonly qOut: Record<string, number> = {};
  private readonly drops: Record<DropReason, number> = { malformed: 0, 'rate-limited': 0, self: 0, unexpected: 0, family: 0 };
  private refusedCount = 0;
  private responses = 0;
  private errorReplies = 0;
  private timeouts = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private datagramsIn = 0;
  private datagramsOut = 0;
  private lookups = 0;
  private lookupQueries = 0;

  received(bytes: number): void {
    this.datagramsIn++;
    this.bytesIn += bytes;
  }

  sent(bytes: number): void {
    this.datagramsOut++;
    this.bytesOut += bytes;
  }

  drop(why: DropReason): void {
    this.drops[why]++;
  }

  query(method: string, refused: boolean): void {
    this.qIn[method] = (this.qIn[method] ?? 0) + 1;
    if (refused) this.refusedCount++;
  }

  queryOut(method: string): void {
    this.qOut[method] = (this.qOut[method] ?? 0) + 1;
  }

  response(): void {
    this.responses++;
  }

  errorReply(): void {
    this.errorReplies++;
  }

  timeout(): void {
    this.timeouts++;
  }

  lookupDone(s: LookupStats): void {
    this.lookups++;
    this.lookupQueries += s.queried;
  }

  snapshot(live: Snapshot): DhtStats {
    return {
      ...live,
      queriesIn: { ...this.qIn },
      refused: this.refusedCount,
      queriesOut: { ...this.qOut },
      responsesIn: this.responses,
      errorRepliesIn: this.errorReplies,
      timeouts: this.timeouts,
      dropped: { ...this.drops },
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      datagramsIn: this.datagramsIn,
      datagramsOut: this.datagramsOut,
      lookups: this.lookups,
      lookupQueries: this.lookupQueries,
    };
  }
}
