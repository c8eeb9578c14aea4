import type { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { EngineError } from '../errors.js';
import type { TorrentLayout } from '../layout.js';
import type { PiecePicker } from '../picker/picker.js';
import type { TorrentState } from '../torrent/states.js';
import type { TorrentEvents } from '../torrent/types.js';
import type { StreamPriorities } from './priorities.js';
import { STREAM_WINDOW_BYTES, windowPieces } from './window.js';

/** Bytes read from storage at once: a piece at most, so a reader gets data as soon as one piece is in. */
export const STREAM_CHUNK_BYTES = 256 * 1024;

/** The byte range of a file to read; `end` is inclusive (as fs.createReadStream's). Default: the whole file. */
export interface FileStreamOptions {
  readonly start?: number;
  readonly end?: number;
  /** Bytes ahead of the read position fetched first (default STREAM_WINDOW_BYTES). */
  readonly windowBytes?: number;
  readonly highWaterMark?: number;
}

/** What a stream needs of its torrent. */
export interface StreamSource {
  readonly layout: TorrentLayout;
  readonly picker: Pick<PiecePicker, 'hasPiece'>;
  readonly priorities: StreamPriorities;
  /** Reads verified bytes of a piece (the torrent's storage). */
  read(piece: number, offset: number, length: number): Promise<Buffer>;
  state(): TorrentState;
  /** The torrent's `piece-verified` and `state` events. */
  readonly events: Pick<EventEmitter<TorrentEvents>, 'on' | 'off'>;
}

/** Checks a file index and range against the layout; ENGINE_BAD_OPTION names what is wrong. */
export function fileRange(layout: TorrentLayout, fileIndex: number, o: Pick<FileStreamOptions, 'start' | 'end'> = {}): { from: number; to: number } {
  if (!Number.isSafeInteger(fileIndex) || fileIndex < 0 || fileIndex >= layout.files.length)
    throw new EngineError('ENGINE_BAD_OPTION', `no file ${String(fileIndex)} (the torrent has ${layout.files.length})`);
  const f = layout.files[fileIndex]!;
  const start = o.start ?? 0;
  const end = o.end ?? f.length - 1;
  if (!Number.isSafeInteger(start) || start < 0 || start > f.length)
    throw new EngineError('ENGINE_BAD_OPTION', `start ${String(start)} is outside file ${fileIndex} (${f.length} bytes)`);
  if (!Number.isSafeInteger(end) || end >= f.length || end < start - 1)
    throw new EngineError('ENGINE_BAD_OPTION', `end ${String(end)} is outside file ${fileIndex} (${f.length} bytes) or before start ${start}`);
  return { from: f.offset + start, to: f.offset + end + 1 };
}

/**
 * A readable stream over bytes of one file of a torrent, while it downloads (issue 14). The pieces
 * a few MiB ahead of the read position go to the front of the picker (StreamPriorities); the stream
 * waits for the next piece's `piece-verified` event (no polling), then reads the verified bytes from
 * storage, one chunk per `_read` (backpressure: nothing is read ahead of what the consumer takes).
 * Destroying it, or its end, releases its window; the torrent closing (or a disk error while it
 * waits) destroys it with that error.
 */
export class FileStream extends Readable {
  private pos: number;
  private readonly to: number;
  private readonly windowBytes: number;
  /** The piece the stream waits for, if any. */
  private waiting: number | undefined;
  private reading = false;
  private windowPiece = -1;

  constructor(
    private readonly src: StreamSource,
    fileIndex: number,
    options: FileStreamOptions = {},
  ) {
    super(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {});
    const { from, to } = fileRange(src.layout, fileIndex, options);
    this.pos = from;
    this.to = to;
    this.windowBytes = options.windowBytes ?? STREAM_WINDOW_BYTES;
    src.events.on('piece-verified', this.onPiece);
    src.events.on('state', this.onState);
    const s = src.state().kind;
    if (s === 'closed') this.destroy(new EngineError('ENGINE_CLOSED', 'torrent closed'));
  }

  /** The next byte to read, as an offset in the torrent. */
  get position(): number {
    return this.pos;
  }

  override _read(): void {
    this.pump();
  }

  private readonly onPiece = ({ index }: { index: number }): void => {
    if (this.destroyed) return;
    if (index === this.waiting) {
      this.waiting = undefined;
      this.pump();
    } else this.moveWindow(true);
  };

  private readonly onState = (s: TorrentState): void => {
    if (s.kind === 'closed') this.destroy(new EngineError('ENGINE_CLOSED', 'torrent closed while streaming'));
    else if (s.kind === 'upload-only' && this.waiting !== undefined) this.destroy(s.error);
  };

  /** Sets this reader's window from the current position (again when `force`: a piece of it arrived). */
  private moveWindow(force = false): void {
    const { layout, picker } = this.src;
    const piece = Math.floor(this.pos / layout.pieceLength);
    if (!force && piece === this.windowPiece) return;
    this.windowPiece = piece;
    this.src.priorities.set(
      this,
      windowPieces(layout, this.pos, this.to, (i) => picker.hasPiece(i), this.windowBytes),
    );
  }

  private pump(): void {
    if (this.reading || this.destroyed) return;
    if (this.pos >= this.to) {
      this.src.priorities.clear(this);
      this.push(null);
      return;
    }
    const { layout, picker } = this.src;
    const plen = layout.pieceLength;
    const piece = Math.floor(this.pos / plen);
    this.moveWindow();
    if (!picker.hasPiece(piece)) {
      const st = this.src.state();
      if (st.kind === 'upload-only') return void this.destroy(st.error);
      this.waiting = piece;
      return;
    }
    const length = Math.min(this.to, (piece + 1) * plen, this.pos + STREAM_CHUNK_BYTES) - this.pos;
    this.reading = true;
    this.src.read(piece, this.pos - piece * plen, length).then(
      (buf) => {
        this.reading = false;
        if (this.destroyed) return;
        this.pos += length;
        if (this.push(buf)) this.pump();
      },
      (e: unknown) => {
        this.reading = false;
        this.destroy(e instanceof Error ? e : new Error(String(e)));
      },
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.src.events.off('piece-verified', this.onPiece);
    this.src.events.off('state', this.onState);
    this.src.priorities.clear(this);
    cb(err);
  }
}
