/**
 * The queued pieces of a torrent by availability, for the picker: `lists[a]` holds, in no order, the
 * queued pieces that `a` connected peers have, and `slot[i]` is piece i's place in its list (-1 when
 * not queued). Picking the rarest piece is then a look at the lowest non-empty list, not a scan of
 * every piece (issue 16: with 16,384 pieces, scanning for every piece started cost O(pieces²)).
 * It owns the availability counts it is given, so a count and a piece's list never disagree.
 */
export class AvailabilityBuckets {
  private readonly lists: number[][] = [[]];
  private readonly slot: Int32Array;
  private count = 0;

  /** Every piece starts queued (availability 0). */
  constructor(
    pieceCount: number,
    private readonly availability: Uint32Array,
  ) {
    this.slot = new Int32Array(pieceCount);
    const all = this.lists[0]!;
    for (let i = 0; i < pieceCount; i++) ((this.slot[i] = i), all.push(i));
    this.count = pieceCount;
  }

  /** Pieces held. */
  get size(): number {
    return this.count;
  }

  has(i: number): boolean {
    return this.slot[i]! >= 0;
  }

  add(i: number): void {
    if (this.slot[i]! >= 0) return;
    const av = this.availability[i]!;
    while (this.lists.length <= av) this.lists.push([]);
    const list = this.lists[av]!;
    this.slot[i] = list.length;
    list.push(i);
    this.count++;
  }

  remove(i: number): void {
    const at = this.slot[i]!;
    if (at < 0) return;
    const list = this.lists[this.availability[i]!]!;
    const last = list.pop()!;
    if (last !== i) {
      list[at] = last;
      this.slot[last] = at;
    }
    this.slot[i] = -1;
    this.count--;
  }

  /** One more or one fewer peer has piece i. */
  changeAvailability(i: number, delta: 1 | -1): void {
    // Out of step (a peer's set changed without us, a bug caught elsewhere): never wrap to 2³²−1,
    // which would also make a list of that length.
    if (delta < 0 && this.availability[i] === 0) return;
    const queued = this.has(i);
    if (queued) this.remove(i);
    this.availability[i]! += delta;
    if (queued) this.add(i);
  }

  /** A held piece that `can` accepts, from a uniformly random place in all the lists taken as one; -1 if none. */
  random(can: (i: number) => boolean, random: () => number): number {
    const total = this.count;
    if (total <= 0) return -1;
    let at = Math.floor(random() * total);
    let b = 0;
    while (at >= this.lists[b]!.length) at -= this.lists[b++]!.length;
    for (let seen = 0; seen < total; seen++) {
      const list = this.lists[b]!;
      const i = list[at]!;
      if (can(i)) return i;
      if (++at >= list.length) {
        at = 0;
        do b = (b + 1) % this.lists.length;
        while (this.lists[b]!.length === 0);
      }
    }
    return -1;
  }

  /**
   * The rarest held piece that `can` accepts: the lowest non-empty list with one, from a random place
   * in it (ties broken at random). List 0 last: a piece nobody has cannot be a peer's. -1 if none.
   */
  rarest(can: (i: number) => boolean, random: () => number): number {
    for (let k = 1; k <= this.lists.length; k++) {
      const list = this.lists[k % this.lists.length]!;
      const n = list.length;
      if (n === 0) continue;
      const start = Math.floor(random() * n);
      for (let j = 0; j < n; j++) {
        const i = list[(start + j) % n]!;
        if (can(i)) return i;
      }
    }
    return -1;
  }

  /** Whether piece i sits where its slot and availability say (for the picker's invariant checks). */
  inPlace(i: number): boolean {
    const at = this.slot[i]!;
    return at < 0 || this.lists[this.availability[i]!]?.[at] === i;
  }

  /** Pieces in the lists, counted (for invariant checks: must equal `size`). */
  counted(): number {
    let n = 0;
    for (const l of this.lists) n += l.length;
    return n;
  }
}
