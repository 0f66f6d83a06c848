// Byte-level mutations of a valid input (AFL's havoc stage, simplified): bit flips, random bytes, inserts,
// deletes, truncation, splicing from another seed, repeated chunks and "interesting" integers and floats
// written over header fields. Deterministic for a given Rng, so a finding replays from its seed.
import type { Rng } from '../../src/core/rng.js';
import { concatBytes } from '../../src/io/bytes.js';

/** Values that sit on boundaries parsers get wrong: 0, ±1, sign bits, all-ones, 2^31, 2^53 and beyond. */
const INTERESTING_INTS: readonly bigint[] = [
  0n,
  1n,
  2n,
  3n,
  7n,
  8n,
  16n,
  0x7fn,
  0x80n,
  0xffn,
  0x100n,
  0x7fffn,
  0x8000n,
  0xffffn,
  0x10000n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  0x1fffffffffffffn,
  0x20000000000000n,
  0x7fffffffffffffffn,
  0x8000000000000000n,
  0xffffffffffffffffn,
];

/** Float edge cases for float header fields (spacing, scaling, affines). */
const INTERESTING_FLOATS: readonly number[] = [
  0,
  -0,
  1,
  -1,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  1e-45,
  3.4e38,
  1e308,
  -1e308,
  Number.MIN_VALUE,
];

/** Where header-field mutations aim: most formats put their sizes and offsets in the first bytes. */
const HEADER_BYTES = 544;

function position(bytes: Uint8Array, rng: Rng, headerBias: boolean): number {
  if (bytes.length === 0) return 0;
  const span = headerBias && rng.uniform() < 0.7 ? Math.min(bytes.length, HEADER_BYTES) : bytes.length;
  return rng.int(span);
}

function writeInteresting(bytes: Uint8Array, rng: Rng): Uint8Array {
  const out = bytes.slice();
  if (out.length === 0) return out;
  const width = [1, 2, 4, 8][rng.int(4)]!;
  const at = Math.min(position(out, rng, true) & ~(width - 1), Math.max(out.length - width, 0));
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const littleEndian = rng.uniform() < 0.7;
  if (out.length - at < width) return out;
  if (rng.uniform() < 0.25 && width >= 4) {
    const f = INTERESTING_FLOATS[rng.int(INTERESTING_FLOATS.length)]!;
    if (width === 4) view.setFloat32(at, f, littleEndian);
    else view.setFloat64(at, f, littleEndian);
    return out;
  }
  let v = INTERESTING_INTS[rng.int(INTERESTING_INTS.length)]!;
  if (rng.uniform() < 0.2) v = -v; // two's complement below
  const bits = BigInt(width * 8);
  const u = BigInt.asUintN(Number(bits), v);
  for (let i = 0; i < width; i++) {
    const byte = Number((u >> BigInt(8 * i)) & 0xffn);
    out[littleEndian ? at + i : at + width - 1 - i] = byte;
  }
  return out;
}

type Mutation = (bytes: Uint8Array, rng: Rng, other: Uint8Array) => Uint8Array;

const MUTATIONS: readonly Mutation[] = [
  // bit flips
  (b, rng) => {
    const out = b.slice();
    for (let k = 1 + rng.int(8); k > 0 && out.length > 0; k--)
      out[position(out, rng, true)]! ^= 1 << rng.int(8);
    return out;
  },
  // random bytes
  (b, rng) => {
    const out = b.slice();
    for (let k = 1 + rng.int(4); k > 0 && out.length > 0; k--) out[position(out, rng, true)] = rng.int(256);
    return out;
  },
  writeInteresting,
  writeInteresting,
  // insert random bytes
  (b, rng) => {
    const at = position(b, rng, true);
    const ins = Uint8Array.from({ length: 1 + rng.int(16) }, () => rng.int(256));
    return concatBytes([b.subarray(0, at), ins, b.subarray(at)]);
  },
  // delete a range
  (b, rng) => {
    const at = position(b, rng, true);
    return concatBytes([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(64)))]);
  },
  // truncate
  (b, rng) => b.slice(0, rng.uniform() < 0.5 ? position(b, rng, true) : rng.int(b.length + 1)),
  // repeat a chunk (grows lengths and counts)
  (b, rng) => {
    const at = position(b, rng, false);
    const chunk = b.subarray(at, Math.min(b.length, at + 1 + rng.int(256)));
    return concatBytes([b.subarray(0, at), chunk, chunk, b.subarray(at + chunk.length)]);
  },
  // splice: the head of this input, the tail of another seed
  (b, rng, other) =>
    concatBytes([b.subarray(0, rng.int(b.length + 1)), other.subarray(rng.int(other.length + 1))]),
  // overwrite with a chunk of another seed at the same offset (swaps a field between files)
  (b, rng, other) => {
    const out = b.slice();
    const at = position(out, rng, true);
    const n = Math.min(1 + rng.int(64), out.length - at, Math.max(other.length - at, 0));
    if (n > 0) out.set(other.subarray(at, at + n), at);
    return out;
  },
];

/**
 * One to four stacked mutations of `bytes`; `other` is a second seed of the same format for splicing.
 */
export function mutateBytes(bytes: Uint8Array, rng: Rng, other: Uint8Array = bytes): Uint8Array {
  let out = bytes;
  for (let k = 1 + rng.int(4); k > 0; k--) out = MUTATIONS[rng.int(MUTATIONS.length)]!(out, rng, other);
  return out === bytes ? bytes.slice() : out;
}
