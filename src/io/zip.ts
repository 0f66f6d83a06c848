// Minimal zip container for PyTorch checkpoints (masam-spec 7.1): reads stored or deflated entries through
// the central directory (zip64 aware) and writes stored archives laid out as PyTorch's writer (miniz) does.
// Every entry read is checked against the CRC-32 its directory records (one flipped bit in a tensor must
// not load), and a deflated entry inflates to at most the size its directory declares.
import { FormatError, MasamError } from '../core/errors.js';
import { DEFAULT_MAX_INFLATED_BYTES, DEFLATE_MAX_RATIO, inflateRawPrefix } from './gzip.js';

/** One entry of a zip archive as its central directory describes it. */
export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflated; nothing else is read. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
}

/** A parsed archive: its entries in central-directory order and a reader for their contents. */
export interface ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /**
   * Contents of entry `name` after checking its CRC-32: a view into the archive bytes for stored entries,
   * a new array for deflated.
   */
  read(name: string): Uint8Array;
}

/** Options of readZip. */
export interface ZipReadOptions {
  /** Largest deflated entry inflated, in bytes; default DEFAULT_MAX_INFLATED_BYTES (4 GiB). */
  readonly maxBytes?: number;
}

/** A record to write: path inside the archive and its bytes. */
export interface ZipRecord {
  readonly name: string;
  readonly data: Uint8Array;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_DESCRIPTOR = 0x08074b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const ZIP64_EOCD_SIZE = 56;
const ZIP64_LOCATOR_SIZE = 20;
const LOCAL_HEADER_SIZE = 30;
const CENTRAL_HEADER_SIZE = 46;
const DESCRIPTOR_SIZE = 16;
const U32_MAX = 0xffffffff;
/** Bit 3 (sizes in a data descriptor after the data) | bit 11 (UTF-8 names), as PyTorch writes. */
const WRITER_FLAGS = 0x0808;

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

function u64(view: DataView, at: number): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('64-bit zip field exceeds 2^53');
  return Number(v);
}

/**
 * Parses the central directory of a zip archive. Only what a checkpoint needs is supported: one disk,
 * stored or deflated entries, zip64 sizes and offsets. Truncation and out-of-range offsets are caught by
 * bounds checks; `read` verifies each entry's CRC-32 (measured ~300 MB/s on one core: seconds for a
 * multi-GB SAM checkpoint, the price of not loading a corrupted weight).
 */
export function readZip(bytes: Uint8Array, source: string, options: ZipReadOptions = {}): ZipArchive {
  try {
    return parseZip(bytes, source, options.maxBytes ?? DEFAULT_MAX_INFLATED_BYTES);
  } catch (err) {
    // DataView reads past the end throw RangeError: a truncated or corrupt directory.
    if (err instanceof RangeError)
      throw new FormatError(source, `zip: truncated or corrupt (${err.message})`);
    throw err;
  }
}

function parseZip(bytes: Uint8Array, source: string, maxBytes: number): ZipArchive {
  const fail = (problem: string): never => {
    throw new FormatError(source, `zip: ${problem}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.length;
  let eocd = -1;
  // The EOCD record sits at the end, followed by a comment of at most 65535 bytes.
  for (let p = len - EOCD_SIZE; p >= Math.max(0, len - EOCD_SIZE - 0xffff); p--) {
    if (view.getUint32(p, true) === SIG_EOCD) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) fail('no end-of-central-directory record (not a zip archive, or truncated)');
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) {
    fail('multi-disk archives are not supported');
  }
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  let cdLimit = eocd;
  const locator = eocd - ZIP64_LOCATOR_SIZE;
  if (locator >= 0 && view.getUint32(locator, true) === SIG_ZIP64_LOCATOR) {
    const at = u64(view, locator + 8);
    if (at + ZIP64_EOCD_SIZE > locator || view.getUint32(at, true) !== SIG_ZIP64_EOCD) {
      fail(`zip64 end-of-central-directory record expected at byte ${at}`);
    }
    count = u64(view, at + 32);
    cdSize = u64(view, at + 40);
    cdOffset = u64(view, at + 48);
    cdLimit = at;
  }
  if (cdOffset + cdSize > cdLimit) {
    fail(
      `central directory (bytes ${cdOffset}..${cdOffset + cdSize}) runs past its end record at ${cdLimit}`,
    );
  }

  const entries = new Map<string, ZipEntry>();
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_HEADER_SIZE > cdOffset + cdSize || view.getUint32(p, true) !== SIG_CENTRAL) {
      fail(`central directory entry ${i} of ${count} is missing at byte ${p}`);
    }
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const end = p + CENTRAL_HEADER_SIZE + nameLen + extraLen + commentLen;
    if (end > cdOffset + cdSize) fail(`central directory entry ${i} overruns the directory`);
    const name = utf8.decode(bytes.subarray(p + CENTRAL_HEADER_SIZE, p + CENTRAL_HEADER_SIZE + nameLen));
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    let localHeaderOffset = view.getUint32(p + 42, true);
    // Zip64 extra field (id 1): 8-byte values for exactly those fields that are 0xffffffff, in this order.
    let x = p + CENTRAL_HEADER_SIZE + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = view.getUint16(x, true);
      const dataLen = view.getUint16(x + 2, true);
      if (id === 1) {
        let q = x + 4;
        if (size === U32_MAX) {
          size = u64(view, q);
          q += 8;
        }
        if (compressedSize === U32_MAX) {
          compressedSize = u64(view, q);
          q += 8;
        }
        if (localHeaderOffset === U32_MAX) localHeaderOffset = u64(view, q);
      }
      x += 4 + dataLen;
    }
    entries.set(name, {
      name,
      method: view.getUint16(p + 10, true),
      compressedSize,
      size,
      crc32: view.getUint32(p + 16, true),
      localHeaderOffset,
    });
    p = end;
  }

  const read = (name: string): Uint8Array => {
    const e = entries.get(name);
    if (!e) return fail(`no entry '${name}'`);
    const h = e.localHeaderOffset;
    if (h + LOCAL_HEADER_SIZE > len || view.getUint32(h, true) !== SIG_LOCAL) {
      fail(`local header of '${name}' missing at byte ${h}`);
    }
    // The local extra field may differ from the central one (PyTorch pads it for alignment).
    const start = h + LOCAL_HEADER_SIZE + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
    const stop = start + e.compressedSize;
    if (stop > len) fail(`entry '${name}' (bytes ${start}..${stop}) is truncated: archive has ${len} bytes`);
    const raw = bytes.subarray(start, stop);
    const data = contents(e, raw);
    const crc = crc32(data);
    if (crc !== e.crc32) {
      fail(
        `entry '${name}' is corrupt: its CRC-32 is ${hex32(crc)}, the directory records ${hex32(e.crc32)}`,
      );
    }
    return data;
  };
  const contents = (e: ZipEntry, raw: Uint8Array): Uint8Array => {
    const name = e.name;
    if (e.method === 0) {
      if (e.size !== e.compressedSize)
        fail(`stored entry '${name}' has size ${e.size} ≠ ${e.compressedSize}`);
      return raw;
    }
    if (e.method !== 8) {
      fail(`entry '${name}' uses compression method ${e.method} (only stored and deflate are read)`);
    }
    // Checked before inflating: a size DEFLATE cannot reach from these bytes, or beyond the cap.
    if (e.size > e.compressedSize * DEFLATE_MAX_RATIO + 1024) {
      fail(`entry '${name}' declares ${e.size} bytes from ${e.compressedSize}: more than DEFLATE can expand`);
    }
    if (e.size > maxBytes) {
      fail(`entry '${name}' declares ${e.size} bytes, more than the ${maxBytes}-byte limit (maxBytes)`);
    }
    const { data, complete } = inflateRawPrefix(raw, e.size, `${source} (entry '${name}')`);
    if (!complete) fail(`entry '${name}' inflates past the ${e.size} bytes its directory declares`);
    if (data.length !== e.size) fail(`entry '${name}' inflates to ${data.length} bytes, expected ${e.size}`);
    return data;
  };
  return { entries, read };
}

const hex32 = (x: number) => `0x${x.toString(16).padStart(8, '0')}`;

/** CRC-32 tables for slicing-by-8: table s maps a byte to its CRC contribution s bytes further on. */
const CRC_TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let s = 1; s < 8; s++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(s - 1) * 256 + n]!;
      t[s * 256 + n] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
})();

/**
 * CRC-32 (IEEE, as zip uses) of `data`, eight bytes per step (slicing-by-8: ~2.5× the byte-wise loop,
 * which matters for multi-GB checkpoints).
 */
export function crc32(data: Uint8Array): number {
  const t = CRC_TABLES;
  let c = 0xffffffff;
  const n = data.length;
  const end8 = n - (n & 7);
  let i = 0;
  for (; i < end8; i += 8) {
    const a = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    c =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + data[i + 4]!]! ^
      t[512 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
  }
  for (; i < n; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Writes an uncompressed archive byte-for-byte as PyTorch's `PyTorchStreamWriter` (miniz, PyTorch 1.13)
 * does: zero times and versions, flags 0x0808, each record's data aligned to `alignment` bytes by an
 * `FB` extra field padded with `Z`, a data descriptor after each record, and zip64 end records.
 * Archives or records of 4 GiB and more are refused (they would need zip64 local headers).
 */
export function writeStoredZip(records: readonly ZipRecord[], alignment = 64): Uint8Array {
  const names = records.map((r) => utf8Encoder.encode(r.name));
  const pads: number[] = [];
  const offsets: number[] = [];
  let cursor = 0;
  records.forEach((r, i) => {
    offsets.push(cursor);
    // Data must start on a multiple of `alignment`; the FB extra header itself takes 4 bytes.
    const start = cursor + LOCAL_HEADER_SIZE + names[i]!.length + 4;
    const pad = (alignment - (start % alignment)) % alignment;
    pads.push(pad);
    cursor = start + pad + r.data.length + DESCRIPTOR_SIZE;
  });
  const cdOffset = cursor;
  const cdSize = names.reduce((s, n) => s + CENTRAL_HEADER_SIZE + n.length, 0);
  const total = cdOffset + cdSize + ZIP64_EOCD_SIZE + ZIP64_LOCATOR_SIZE + EOCD_SIZE;
  if (cdOffset + cdSize >= U32_MAX) {
    throw new MasamError(`writeStoredZip: ${total} bytes need zip64 entries, which are not written`);
  }

  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const crcs = records.map((r) => crc32(r.data));
  let p = 0;
  records.forEach((r, i) => {
    const name = names[i]!;
    view.setUint32(p, SIG_LOCAL, true);
    view.setUint16(p + 6, WRITER_FLAGS, true);
    view.setUint16(p + 26, name.length, true);
    view.setUint16(p + 28, 4 + pads[i]!, true);
    out.set(name, p + LOCAL_HEADER_SIZE);
    p += LOCAL_HEADER_SIZE + name.length;
    out[p] = 0x46; // 'F'
    out[p + 1] = 0x42; // 'B'
    view.setUint16(p + 2, pads[i]!, true);
    out.fill(0x5a, p + 4, p + 4 + pads[i]!); // 'Z'
    p += 4 + pads[i]!;
    out.set(r.data, p);
    p += r.data.length;
    view.setUint32(p, SIG_DESCRIPTOR, true);
    view.setUint32(p + 4, crcs[i]!, true);
    view.setUint32(p + 8, r.data.length, true);
    view.setUint32(p + 12, r.data.length, true);
    p += DESCRIPTOR_SIZE;
  });
  records.forEach((r, i) => {
    const name = names[i]!;
    view.setUint32(p, SIG_CENTRAL, true);
    view.setUint16(p + 8, WRITER_FLAGS, true);
    view.setUint32(p + 16, crcs[i]!, true);
    view.setUint32(p + 20, r.data.length, true);
    view.setUint32(p + 24, r.data.length, true);
    view.setUint16(p + 28, name.length, true);
    view.setUint32(p + 42, offsets[i]!, true);
    out.set(name, p + CENTRAL_HEADER_SIZE);
    p += CENTRAL_HEADER_SIZE + name.length;
  });
  const zip64At = p;
  view.setUint32(p, SIG_ZIP64_EOCD, true);
  view.setBigUint64(p + 4, BigInt(ZIP64_EOCD_SIZE - 12), true);
  view.setUint16(p + 12, 0x031e, true); // version made by: Unix, 3.0 (miniz's value)
  view.setUint16(p + 14, 0x002d, true); // version needed: 4.5 (zip64)
  view.setBigUint64(p + 24, BigInt(records.length), true);
  view.setBigUint64(p + 32, BigInt(records.length), true);
  view.setBigUint64(p + 40, BigInt(cdSize), true);
  view.setBigUint64(p + 48, BigInt(cdOffset), true);
  p += ZIP64_EOCD_SIZE;
  view.setUint32(p, SIG_ZIP64_LOCATOR, true);
  view.setBigUint64(p + 8, BigInt(zip64At), true);
  view.setUint32(p + 16, 1, true);
  p += ZIP64_LOCATOR_SIZE;
  view.setUint32(p, SIG_EOCD, true);
  view.setUint16(p + 8, Math.min(records.length, 0xffff), true);
  view.setUint16(p + 10, Math.min(records.length, 0xffff), true);
  view.setUint32(p + 12, cdSize, true);
  view.setUint32(p + 16, cdOffset, true);
  return out;
}
