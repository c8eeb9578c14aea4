export { CodecError, isCodecError, type CodecErrorCode, type CodecErrorDetails } from './errors.js';
export * from './bencode/index.js';
export { PUBLIC_TRACKERS } from './public-trackers.js';
