import { describe, expect, it } from 'vitest';
import { encodeExtendedHandshake, MAX_PIECE_COUNT, type Message } from '@tc/wire';
import { MAX_REPLAY_BYTES, MAX_REPLAY_MESSAGES, PeerReplay } from './replay.js';

function fold(...msgs: Message[]): { r: PeerReplay; verdicts: (string | undefined)[] } {
  const r = new PeerReplay();
  return { r, verdicts: msgs.map((m) => r.add(m)) };
}

describe('PeerReplay: what a peer said before the metadata, folded (issue 10, defect 1)', () => {
  it("keeps only the latest bitfield, drops the haves it covers, and gives the peer's state in order", () => {
    const ext = encodeExtendedHandshake({ m: {}, reqq: 77, v: 'old name' });
    const ext2 = encodeExtendedHandshake({ m: { ut_pex: 0 }, v: 'new name' });
    const { r, verdicts } = fold(
      { type: 'bitfield', bytes: Buffer.from([0x80]) },
      { type: 'have', index: 9 },
      { type: 'have', index: 9 },
      { type: 'have', index: 20 },
      { type: 'extended', id: 0, payload: ext },
      { type: 'unchoke' },
      { type: 'interested' },
      { type: 'allowed-fast', index: 3 },
      // A second bitfield (BEP 3 allows one) replaces the first: it has piece 9, not 12 or 20.
      { type: 'bitfield', bytes: Buffer.from([0x00, 0x40]) },
      { type: 'have', index: 12 },
      { type: 'have', index: 9 },
      { type: 'choke' },
      { type: 'not-interested' },
      { type: 'allowed-fast', index: 3 },
      { type: 'extended', id: 0, payload: ext2 },
    );
    expect(verdicts.every((v) => v === undefined)).toBe(true);
    expect(r.messages()).toEqual([
      { type: 'bitfield', bytes: Buffer.from([0x00, 0x40]) },
      { type: 'have', index: 20 },
      { type: 'have', index: 12 },
      { type: 'allowed-fast', index: 3 },
      { type: 'choke' },
      { type: 'not-interested' },
      // Both handshakes: BEP 10 lets the second update the first.
      { type: 'extended', id: 0, payload: ext },
      { type: 'extended', id: 0, payload: ext2 },
    ]);
  });

  it('have-all makes earlier and later haves redundant; have-none keeps them', () => {
    expect(fold({ type: 'have', index: 1 }, { type: 'have-all' }, { type: 'have', index: 2 }).r.messages()).toEqual([{ type: 'have-all' }]);
    expect(fold({ type: 'have', index: 1 }, { type: 'have-none' }).r.messages()).toEqual([{ type: 'have-none' }, { type: 'have', index: 1 }]);
  });

  it('copies what it keeps: the read buffer the message viewed may be overwritten', () => {
    const read = Buffer.from([0xff, 0x01, 0x02]);
    const r = new PeerReplay();
    r.add({ type: 'bitfield', bytes: read.subarray(0, 1) });
    r.add({ type: 'extended', id: 0, payload: read.subarray(1) });
    read.fill(0);
    expect(r.messages()).toEqual([
      { type: 'bitfield', bytes: Buffer.from([0xff]) },
      { type: 'extended', id: 0, payload: Buffer.from([0x01, 0x02]) },
    ]);
  });

  it('counts every byte received against MAX_REPLAY_BYTES, kept or not: the fourth maximum bitfield is too many', () => {
    const r = new PeerReplay();
    const bytes = Buffer.alloc(MAX_PIECE_COUNT / 8);
    const verdicts = [1, 2, 3, 4].map(() => r.add({ type: 'bitfield', bytes }));
    expect(verdicts.slice(0, 3)).toEqual([undefined, undefined, undefined]);
    expect(verdicts[3]).toMatch(/more than \d+ bytes/);
    expect(r.bytes).toBeGreaterThan(MAX_REPLAY_BYTES);
    // A flood of one-byte state messages is caught by the same budget.
    const t = new PeerReplay();
    let verdict: string | undefined;
    let sent = 0;
    while (verdict === undefined) verdict = t.add({ type: sent++ % 2 === 0 ? 'choke' : 'unchoke' });
    expect(sent).toBe(Math.floor(MAX_REPLAY_BYTES / 5) + 1);
  });

  it('drops a peer past MAX_REPLAY_MESSAGES distinct haves and allowed-fast pieces', () => {
    const r = new PeerReplay();
    let verdict: string | undefined;
    let i = 0;
    while (verdict === undefined && i < 10 * MAX_REPLAY_MESSAGES) verdict = r.add({ type: 'have', index: i++ });
    expect(i).toBe(MAX_REPLAY_MESSAGES + 1);
    expect(verdict).toMatch(/haves and allowed-fast/);
    // Repeats cost bytes only.
    const q = new PeerReplay();
    const verdicts = new Set<string | undefined>();
    for (let k = 0; k < 10 * MAX_REPLAY_MESSAGES; k++) verdicts.add(q.add({ type: 'have', index: 7 }));
    expect([...verdicts]).toEqual([undefined]);
    expect(q.messages()).toEqual([{ type: 'have', index: 7 }]);
  });
});
