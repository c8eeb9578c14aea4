export { CodecError, isCodecError, type CodecErrorCode, type CodecErrorDetails } from './errors.js';
export * from './bencode/index.js';
