/**
 * RC4's inner loop as a tiny WebAssembly function, assembled here from its opcodes (no toolchain,
 * nothing fetched): V8 runs it 1.5–2.5× faster than the same loop in JavaScript, which checks the
 * bounds of every typed-array access. RC4 runs over every byte of an encrypted connection.
 *
 * Memory (2 pages): bytes 0..255 the RC4 permutation S, 256 and 257 the indices i and j, and from
 * 1024 a window of up to 64 KiB of data, XORed with the keystream in place by `run(1024, n)`.
 * Four keystream bytes are made per round and XORed into the data as one 32-bit word; the tail
 * (n mod 4 bytes) goes a byte at a time.
 */
export const KERNEL_STATE_BYTES = 258;
export const KERNEL_DATA_AT = 1024;
export const KERNEL_DATA_BYTES = 64 * 1024;
const KERNEL_PAGES = 2; // 128 KiB: 1024 + 64 KiB fit

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

// The opcodes used (WebAssembly 1.0 binary format).
const get = (local: number): number[] => [0x20, local];
const set = (local: number): number[] => [0x21, local];
const i32 = (v: number): number[] => [0x41, ...sleb(v)];
const ADD = 0x6a;
const AND = 0x71;
const OR = 0x72;
const XOR = 0x73;
const SHL = 0x74;
const GE_U = 0x4f;
const LOAD8 = [0x2d, 0, 0]; // i32.load8_u align=0 offset=0
const STORE8 = [0x3a, 0, 0]; // i32.store8
const LOAD32 = [0x28, 0, 0]; // i32.load (unaligned is allowed)
const STORE32 = [0x36, 0, 0]; // i32.store
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const BR_IF_OUT = [0x0d, 0x01]; // leave the enclosing block
const BR_AGAIN = [0x0c, 0x00]; // back to the loop's start
const END = 0x0b;

// Locals: the two parameters, then seven i32s.
const PTR = 0;
const LEN = 1;
const I = 2;
const J = 3;
const SI = 4;
const SJ = 5;
const STOP = 6;
const KS = 7;
const STOP4 = 8;

/** One RC4 output byte (PRGA step), left on the stack. */
const keystreamByte = (): number[] => [
  ...get(I),
  ...i32(1),
  ADD,
  ...i32(255),
  AND,
  ...set(I), // i = (i + 1) & 255
  ...get(I),
  ...LOAD8,
  ...set(SI), // si = S[i]
  ...get(J),
  ...get(SI),
  ADD,
  ...i32(255),
  AND,
  ...set(J), // j = (j + si) & 255
  ...get(J),
  ...LOAD8,
  ...set(SJ), // sj = S[j]
  ...get(I),
  ...get(SJ),
  ...STORE8, // S[i] = sj
  ...get(J),
  ...get(SI),
  ...STORE8, // S[j] = si
  ...get(SI),
  ...get(SJ),
  ADD,
  ...i32(255),
  AND,
  ...LOAD8, // S[(si + sj) & 255]
];

// prettier-ignore
const BODY = [
  0x01, 0x07, 0x7f, // seven i32 locals
  ...i32(256), ...LOAD8, ...set(I),
  ...i32(257), ...LOAD8, ...set(J),
  ...get(PTR), ...get(LEN), ADD, ...set(STOP),
  ...get(PTR), ...get(LEN), ...i32(-4), AND, ADD, ...set(STOP4),
  ...BLOCK, ...LOOP, // four bytes a round
    ...get(PTR), ...get(STOP4), GE_U, ...BR_IF_OUT,
    ...keystreamByte(), ...set(KS),
    ...keystreamByte(), ...i32(8), SHL, ...get(KS), OR, ...set(KS),
    ...keystreamByte(), ...i32(16), SHL, ...get(KS), OR, ...set(KS),
    ...keystreamByte(), ...i32(24), SHL, ...get(KS), OR, ...set(KS),
    ...get(PTR), ...get(PTR), ...LOAD32, ...get(KS), XOR, ...STORE32, // little-endian: byte 0 first
    ...get(PTR), ...i32(4), ADD, ...set(PTR),
    ...BR_AGAIN, END, END,
  ...BLOCK, ...LOOP, // the tail, a byte at a time
    ...get(PTR), ...get(STOP), GE_U, ...BR_IF_OUT,
    ...get(PTR), ...get(PTR), ...LOAD8, ...keystreamByte(), XOR, ...STORE8,
    ...get(PTR), ...i32(1), ADD, ...set(PTR),
    ...BR_AGAIN, END, END,
  ...i32(256), ...get(I), ...STORE8,
  ...i32(257), ...get(J), ...STORE8,
  END,
];

const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const name = (s: string): number[] => [s.length, ...Buffer.from(s, 'latin1')];

const MODULE = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00, // "\0asm", version 1
  ...section(1, [0x01, 0x60, 0x02, 0x7f, 0x7f, 0x00]), // one type: (i32, i32) -> ()
  ...section(3, [0x01, 0x00]), // one function of type 0
  ...section(5, [0x01, 0x00, KERNEL_PAGES]), // one memory, KERNEL_PAGES pages
  ...section(7, [0x02, ...name('mem'), 0x02, 0x00, ...name('run'), 0x00, 0x00]), // exports
  ...section(10, [0x01, ...uleb(BODY.length), ...BODY]), // the code
]);

/**
 * The part of the WebAssembly global used here: tsconfig's lib (ES2022, no DOM) and @types/node 20
 * do not declare it, though Node 20 has it.
 */
declare const WebAssembly: {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: Record<string, unknown> };
};

export interface Rc4Kernel {
  /** The kernel's whole memory (state at 0, data at KERNEL_DATA_AT). */
  readonly memory: Uint8Array;
  /** XORs `n` bytes at `at` with the keystream of the state in memory, and updates that state. */
  readonly run: (at: number, n: number) => void;
}

/**
 * One kernel for the process, made on first use (compiling takes well under a millisecond). Every
 * Rc4 loads its own state into it for the length of one call: calls are synchronous, so none overlap.
 */
let kernel: Rc4Kernel | undefined;
export function rc4Kernel(): Rc4Kernel {
  if (!kernel) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(MODULE));
    const exports = instance.exports as { mem: { buffer: ArrayBuffer }; run: (at: number, n: number) => void };
    kernel = { memory: new Uint8Array(exports.mem.buffer), run: exports.run };
  }
  return kernel;
}
