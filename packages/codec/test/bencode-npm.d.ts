// Minimal types for the `bencode` npm package (4.x), used only as a test oracle.
declare module 'bencode' {
  type Value = Uint8Array | number | Value[] | { [key: string]: Value };
  const bencode: {
    encode(value: unknown): Uint8Array;
    decode(data: Uint8Array): Value;
  };
  export default bencode;
}
