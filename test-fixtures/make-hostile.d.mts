/** Types for make-hostile.mjs, so TypeScript tests can import the generator. */
export interface HostileCase {
  readonly file: string;
  readonly bytes: Buffer;
  /** CodecError code it must give, or null when it must parse. */
  readonly code: string | null;
  readonly options?: Record<string, unknown>;
  readonly warnings?: readonly string[];
  readonly safePaths?: readonly (readonly string[])[];
  readonly infoHash?: string;
  readonly reencodedInfoHash?: string;
  readonly private?: boolean;
  readonly paddingFiles?: number;
  readonly maxNameBytes?: number;
}
export interface MagnetCase {
  readonly uri: string;
  readonly code: string | null;
  readonly warnings?: readonly string[];
  readonly trackers?: number;
  readonly peers?: number;
}
export function smallCases(): HostileCase[];
export function bigCases(): HostileCase[];
export function magnetCases(): MagnetCase[];
