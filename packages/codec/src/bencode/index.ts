export { decode, decodePrefix, DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_TOKENS, type DecodeOptions } from './decode.js';
export { encode } from './encode.js';
export { BDict, BRaw, type BDictEntry, type BEncodable, type BValue } from './types.js';
export { asBytes, asDict, asInt, asList, asText } from './access.js';
