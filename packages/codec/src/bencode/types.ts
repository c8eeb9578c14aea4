/**
 * A decoded bencode value. Byte strings are Buffer views into the input (no copy);
 * integers are numbers when safe, bigints beyond ±2^53 (never silently rounded).
 */
export type BValue = Buffer | number | bigint | BValue[] | BDict;

/** One key of a decoded dictionary, with the exact bytes its value occupied in the input. */
export interface BDictEntry {
  /** The key's raw bytes as a latin1 string: lossless for any byte, equal to ASCII for ASCII keys. */
  readonly key: string;
  readonly value: BValue;
  /** Byte offset where the value starts in the input. */
  readonly start: number;
  /** Byte offset just past the value. */
  readonly end: number;
}

/**
 * A decoded dictionary. Keys live in a Map, so a key like `__proto__` is just a key.
 * Entries keep input order; `sorted` says whether that order was canonical.
 */
export class BDict {
  readonly entries: ReadonlyMap<string, BDictEntry>;
  readonly start: number;
  readonly end: number;
  readonly sorted: boolean;

  constructor(entries: ReadonlyMap<string, BDictEntry>, start: number, end: number, sorted: boolean) {
    this.entries = entries;
    this.start = start;
    this.end = end;
    this.sorted = sorted;
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get(key: string): BValue | undefined {
    return this.entries.get(key)?.value;
  }

  /** The [start, end) byte span of the value under `key` in the input. */
  span(key: string): { start: number; end: number } | undefined {
    const e = this.entries.get(key);
    return e ? { start: e.start, end: e.end } : undefined;
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }
}

/** Bytes that the encoder copies verbatim, e.g. an `info` dictionary exactly as it was read. */
export class BRaw {
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
}

/** What the encoder accepts. Strings are written as UTF-8; Map and object keys as UTF-8; BDict keys as their raw bytes. */
export type BEncodable =
  | Uint8Array
  | string
  | number
  | bigint
  | BRaw
  | BDict
  | readonly BEncodable[]
  | ReadonlyMap<string | Uint8Array, BEncodable | undefined>
  | { readonly [key: string]: BEncodable | undefined };
