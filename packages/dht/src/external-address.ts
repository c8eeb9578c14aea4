/**
 * BEP 42: learning our external address from the `ip` field of the nodes' replies. An address is
 * believed once EXTERNAL_ADDRESS_VOTES different voters report it; the candidates are bounded, so
 * a liar cannot grow the map.
 */

/** Different nodes that must report the same address before we believe it. */
export const EXTERNAL_ADDRESS_VOTES = 3;
/** Candidate addresses counted at once; reports of others are ignored until one wins. */
export const MAX_ADDRESS_CANDIDATES = 16;

export class AddressVotes {
  private readonly votes = new Map<string, Set<string>>();

  /** Counts `voter`'s report of `ip`; returns `ip` when it has just won and differs from `current` (the count starts over). */
  vote(ip: string, voter: string, current: string | undefined): string | undefined {
    if (this.votes.size >= MAX_ADDRESS_CANDIDATES && !this.votes.has(ip)) return undefined;
    const voters = this.votes.get(ip) ?? new Set<string>();
    if (voters.size < EXTERNAL_ADDRESS_VOTES) voters.add(voter);
    this.votes.set(ip, voters);
    if (voters.size < EXTERNAL_ADDRESS_VOTES || ip === current) return undefined;
    this.votes.clear();
    return ip;
  }

  /** Candidate addresses being counted. */
  get candidates(): number {
    return this.votes.size;
  }
}
