import type { PiecePicker } from '../picker/picker.js';
import { borrowPlan, mergeWindows } from './window.js';

/** What the streams of a torrent change in it: the picker's urgent list and wanted pieces, then a nudge. */
export interface PriorityTarget {
  readonly picker: Pick<PiecePicker, 'setUrgent' | 'setWanted' | 'pieceState' | 'hasPiece'>;
  /**
   * The urgent list changed; `borrowed` are unwanted pieces just made wanted for a reader. The torrent
   * refills its peers' pipelines (and, when a finished torrent must fetch again, downloads again).
   */
  changed(borrowed: readonly number[]): void;
}

/**
 * The windows of every open stream of one torrent, merged into the picker's urgent list. Pieces of
 * unselected files that a window needs are borrowed (made wanted) until no window needs them.
 */
export class StreamPriorities {
  private readonly windows = new Map<object, readonly number[]>();
  private readonly borrowed = new Set<number>();
  private last: readonly number[] = [];

  constructor(private readonly target: PriorityTarget) {}

  /** Sets (or replaces) the window of `reader`. */
  set(reader: object, pieces: readonly number[]): void {
    const prev = this.windows.get(reader);
    if (prev !== undefined && sameList(prev, pieces)) return;
    this.windows.set(reader, pieces);
    this.apply();
  }

  /** The reader is gone: its pieces lose their priority (borrowed ones are given back). */
  clear(reader: object): void {
    if (!this.windows.delete(reader)) return;
    this.apply();
  }

  get readers(): number {
    return this.windows.size;
  }

  private apply(): void {
    const { picker } = this.target;
    const urgent = mergeWindows(this.windows.values());
    const plan = borrowPlan(
      urgent,
      this.borrowed,
      (i) => picker.pieceState(i) === 'skipped',
      (i) => picker.hasPiece(i),
    );
    for (const i of plan.borrow) {
      picker.setWanted(i, true);
      this.borrowed.add(i);
    }
    for (const i of plan.giveBack) {
      picker.setWanted(i, false);
      this.borrowed.delete(i);
    }
    for (const i of plan.forget) this.borrowed.delete(i);
    // Peers are nudged only when there is something new to ask for (or a piece was given back): a
    // window that merely shrank (its piece arrived) changes nothing a refill would act on.
    const before = new Set(this.last);
    const grew = urgent.some((i) => !before.has(i));
    this.last = urgent;
    picker.setUrgent(urgent);
    if (grew || plan.borrow.length > 0 || plan.giveBack.length > 0) this.target.changed(plan.borrow);
  }
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
