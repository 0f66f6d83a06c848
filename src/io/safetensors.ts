// safetensors read/write (huggingface/safetensors format; layout as in shared/fixtures/README.md): 8-byte LE
// header length, JSON header padded with spaces to a multiple of 8, then packed little-endian C-order data.
import type { DType, TypedArray } from '../core/dtype.js';
import { BYTES_PER_ELEMENT } from '../core/dtype.js';
import { FormatError, MasamError } from '../core/errors.js';
import { type HostTensor, hostTensor } from '../core/host_tensor.js';
import { numel } from '../core/shape.js';

/** What `readSafetensors` returns: tensors in data order and the `__metadata__` strings. */
export interface Safetensors {
  readonly tensors: Map<string, HostTensor>;
  readonly metadata: Record<string, string>;
}

/** safetensors dtype names of our dtypes. */
const CODE_OF: Readonly<Record<DType, string>> = {
  float32: 'F32',
  float64: 'F64',
  int32: 'I32',
  int64: 'I64',
  bool: 'BOOL',
  uint8: 'U8',
  int8: 'I8',
  int16: 'I16',
  uint16: 'U16',
};

/** Readable codes: ours, plus F16 / BF16 which are widened to float32 (HostTensor has no 16-bit float). */
const READ_CODES: Readonly<Record<string, { dtype: DType; bytes: number; widen?: 'F16' | 'BF16' }>> = {
  ...Object.fromEntries(
    (Object.entries(CODE_OF) as [DType, string][]).map(([dtype, code]) => [
      code,
      { dtype, bytes: BYTES_PER_ELEMENT[dtype] },
    ]),
  ),
  F16: { dtype: 'float32', bytes: 2, widen: 'F16' },
  BF16: { dtype: 'float32', bytes: 2, widen: 'BF16' },
};

/** The reference implementation refuses headers above 100 MB; so do we (a corrupt length is not a 4 GB alloc). */
const MAX_HEADER = 100_000_000;
const METADATA = '__metadata__';

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Widens little-endian IEEE half ('F16') or bfloat16 ('BF16') values to float32 (exact for both). */
export function widenHalf(raw: Uint8Array, kind: 'F16' | 'BF16'): Float32Array {
  const half = new Uint16Array(new Uint8Array(raw).buffer);
  const out = new Float32Array(half.length);
  if (kind === 'F16') {
    for (let i = 0; i < half.length; i++) out[i] = halfToFloat(half[i]!);
  } else {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < half.length; i++) bits[i] = half[i]! << 16; // bfloat16 = top half of a float32
  }
  return out;
}

/** Copies `raw` into an aligned typed array of `dtype` (platform little-endian, as every JS engine runs). */
function decode(raw: Uint8Array, dtype: DType, widen?: 'F16' | 'BF16'): TypedArray {
  if (widen) return widenHalf(raw, widen);
  const copy = new Uint8Array(raw); // a copy even when raw is a Node Buffer (whose slice is a view)
  switch (dtype) {
    case 'float32':
      return new Float32Array(copy.buffer);
    case 'float64':
      return new Float64Array(copy.buffer);
    case 'int32':
      return new Int32Array(copy.buffer);
    case 'int64':
      return new BigInt64Array(copy.buffer);
    case 'int8':
      return new Int8Array(copy.buffer);
    case 'int16':
      return new Int16Array(copy.buffer);
    case 'uint16':
      return new Uint16Array(copy.buffer);
    default:
      return copy;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parses a safetensors file. The header is validated as the reference implementation does: known dtypes,
 * non-negative integer shapes, `end - begin` = numel × element size, and offsets that tile the data section
 * exactly (starting at 0, no overlap, no gap, ending at the last byte). Tensors are returned in data order
 * (JSON object order is not reliable for integer-like names) and own their data.
 */
export function readSafetensors(bytes: Uint8Array, source: string): Safetensors {
  const fail = (problem: string): never => {
    throw new FormatError(source, `safetensors: ${problem}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes is shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(Math.min(MAX_HEADER, bytes.length - 8))) {
    fail(`header length ${headerLen} exceeds the ${bytes.length - 8} bytes after it (or the 100 MB limit)`);
  }
  const n = Number(headerLen);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (err) {
    fail(`header is not UTF-8 JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(header)) return fail('header is not a JSON object');

  const metadata: Record<string, string> = {};
  const entries: {
    name: string;
    dtype: DType;
    widen?: 'F16' | 'BF16';
    shape: number[];
    begin: number;
    end: number;
  }[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA) {
      if (!isPlainObject(value)) fail(`${METADATA} is not an object`);
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`${METADATA}.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (!isPlainObject(value)) return fail(`entry '${name}' is not an object`);
    const { dtype, shape, data_offsets: offsets } = value;
    const code = typeof dtype === 'string' ? READ_CODES[dtype] : undefined;
    if (!code) return fail(`'${name}' has unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isCount))
      return fail(`'${name}' has invalid shape ${JSON.stringify(shape)}`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every(isCount) ||
      offsets[0] > offsets[1]
    ) {
      return fail(`'${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const want = numel(shape) * code.bytes;
    if (end - begin !== want) {
      fail(`'${name}' spans ${end - begin} bytes but ${dtype} [${shape.join(', ')}] needs ${want}`);
    }
    entries.push({ name, dtype: code.dtype, widen: code.widen, shape, begin, end });
  }

  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  // Stable sort: zero-size tensors (begin == end) keep their header order.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of entries) {
    if (e.begin < cursor)
      fail(`'${e.name}' (bytes ${e.begin}..${e.end}) overlaps the previous tensor ending at ${cursor}`);
    if (e.begin > cursor) fail(`gap before '${e.name}': bytes ${cursor}..${e.begin} belong to no tensor`);
    if (e.end > dataLen)
      fail(`'${e.name}' (bytes ${e.begin}..${e.end}) runs past the ${dataLen}-byte data section`);
    cursor = e.end;
  }
  if (cursor !== dataLen) fail(`tensors cover ${cursor} bytes but the data section has ${dataLen}`);

  const tensors = new Map<string, HostTensor>();
  for (const e of entries) {
    const raw = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    tensors.set(e.name, hostTensor(e.dtype, e.shape, decode(raw, e.dtype, e.widen)));
  }
  return { tensors, metadata };
}

/**
 * Serializes tensors (in the given order, packed without gaps) and optional `__metadata__` strings. The
 * header is compact JSON padded with spaces to a multiple of 8, metadata last, as the fixtures' writer does.
 */
export function writeSafetensors(
  tensors: Iterable<readonly [string, HostTensor]>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const parts: string[] = [];
  const chunks: Uint8Array[] = [];
  const names = new Set<string>();
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === METADATA || names.has(name))
      throw new MasamError(`writeSafetensors: bad or duplicate name '${name}'`);
    names.add(name);
    if (t.data.length !== numel(t.shape)) {
      throw new MasamError(
        `writeSafetensors: '${name}' has ${t.data.length} elements for shape [${t.shape.join(', ')}]`,
      );
    }
    const data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const entry = { dtype: CODE_OF[t.dtype], shape: t.shape, data_offsets: [offset, offset + data.length] };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(entry)}`);
    chunks.push(data);
    offset += data.length;
  }
  if (metadata) {
    for (const v of Object.values(metadata)) {
      if (typeof v !== 'string') throw new MasamError('writeSafetensors: metadata values must be strings');
    }
    parts.push(`${JSON.stringify(METADATA)}:${JSON.stringify(metadata)}`);
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let p = 8 + headerLen;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}
