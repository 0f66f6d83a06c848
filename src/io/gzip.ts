// gzip (RFC 1952) and raw DEFLATE (RFC 1951) adapter over fflate: the one place the compression dependency
// is named, so it can be swapped. Decompression goes through fflate's streaming Gunzip (which handles
// multi-member files) and Inflate, and is always bounded: callers say how many bytes they will accept, and
// the compressed input is fed in pieces small enough that none can inflate far past that (DEFLATE expands
// at most ~1032:1), so a decompression bomb costs the bound (plus at most min(64 MiB, 2×) in one transient
// piece) in memory and time, never the bomb's size.
import { Gunzip, Inflate, gzipSync } from 'fflate';
import { FormatError } from '../core/errors.js';

/** Default cap on decompressed bytes when a caller gives none: 4 GiB (a 1024³ float32 volume is 4 GiB). */
export const DEFAULT_MAX_INFLATED_BYTES = 4 * 1024 ** 3;

/** DEFLATE's largest expansion: 258 output bytes per 2-bit-ish code, about 1032 per input byte. */
export const DEFLATE_MAX_RATIO = 1032;

/** True when `bytes` start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The first bytes of a gzip stream's output. */
export interface GzipPrefix {
  /** The first min(limit, total) decompressed bytes. */
  readonly data: Uint8Array;
  /** True when the stream ended within the limit (`data` is all of it); false when it holds more. */
  readonly complete: boolean;
}

/**
 * Decompresses at most `limit` bytes of a gzip stream (all members, concatenated) and says whether the
 * stream holds more. Memory stays within a few times `limit` (the output, plus one decoder piece of at most
 * min(64 MiB, 2·limit) past it), whatever the stream holds.
 * @param source named in the error when the stream is corrupt or truncated.
 * @throws FormatError when `bytes` is not gzip, or is corrupt or ends early before `limit` bytes came out.
 */
export function gunzipPrefix(bytes: Uint8Array, limit: number, source = 'gzip data'): GzipPrefix {
  if (!isGzip(bytes)) throw new FormatError(source, 'not gzip data (missing 1f 8b magic)');
  // The streaming decoder rather than gunzipSync: gunzipSync sizes its output from the last member's
  // ISIZE trailer, which is wrong for multi-member files and for data over 4 GiB, and trusts it blindly.
  return boundedInflate((ondata) => new Gunzip(ondata), bytes, limit, source, 'gzip');
}

/**
 * Decompresses at most `limit` bytes of a raw DEFLATE stream (zip entries, deflated DICOM data sets) and
 * says whether it holds more, with the memory bound of gunzipPrefix.
 * @throws FormatError naming `source` when the stream is corrupt or ends early.
 */
export function inflateRawPrefix(bytes: Uint8Array, limit: number, source = 'deflate data'): GzipPrefix {
  // Not inflateSync with a fixed output buffer: fflate then drops the excess silently but still decodes it.
  return boundedInflate((ondata) => new Inflate(ondata), bytes, limit, source, 'deflate');
}

function boundedInflate(
  decoder: (ondata: (chunk: Uint8Array) => void) => { push(chunk: Uint8Array, final: boolean): void },
  bytes: Uint8Array,
  limit: number,
  source: string,
  format: string,
): GzipPrefix {
  let out = new Uint8Array(Math.min(limit, 1 << 16));
  let produced = 0;
  let overflow = false;
  const stream = decoder((chunk) => {
    const room = limit - produced;
    if (chunk.length > room) overflow = true;
    const take = Math.min(room, chunk.length);
    if (produced + take > out.length) {
      const grown = new Uint8Array(Math.min(limit, Math.max(2 * out.length, produced + take)));
      grown.set(out.subarray(0, produced));
      out = grown;
    }
    out.set(chunk.subarray(0, take), produced);
    produced += take;
  });
  try {
    let at = 0;
    while (at < bytes.length && !overflow) {
      // A piece inflates to at most ~1032× its size, so pieces are sized to what may still come out: the
      // room left plus an allowance of min(64 MiB, 2·limit), the most one push may overshoot. Without it
      // pieces shrink with the room; fflate pays per push, and pieces under 64 KiB were measured up to 5×
      // slower on a 31 MB CT. Pieces of at most 1 MiB (no slower than one push).
      const room = limit - produced + Math.min(1 << 26, 2 * limit);
      const step = Math.min(1 << 20, Math.max(256, Math.ceil(room / DEFLATE_MAX_RATIO)));
      stream.push(bytes.subarray(at, at + step), at + step >= bytes.length);
      at += step;
    }
    // An empty input never reaches push; fflate needs the final flag to report the missing stream.
    if (bytes.length === 0) stream.push(bytes, true);
  } catch (err) {
    throw new FormatError(source, `corrupt or truncated ${format} data (${(err as Error).message})`);
  }
  return { data: out.length === produced ? out : out.subarray(0, produced), complete: !overflow };
}

/**
 * Decompresses a whole gzip stream (all members, concatenated), refusing one that inflates past `maxBytes`.
 * @param source named in the error when the stream is corrupt, truncated or too large.
 * @throws FormatError when `bytes` is not gzip, ends early, or decompresses past `maxBytes`.
 */
export function gunzip(
  bytes: Uint8Array,
  source = 'gzip data',
  maxBytes = DEFAULT_MAX_INFLATED_BYTES,
): Uint8Array {
  const { data, complete } = gunzipPrefix(bytes, maxBytes, source);
  if (!complete) throw new FormatError(source, `decompresses past the ${maxBytes}-byte limit`);
  return data;
}

/** Compresses `bytes` as a single gzip member (deflate level 6, zlib's default speed/size balance). */
export function gzip(bytes: Uint8Array, level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 = 6): Uint8Array {
  return gzipSync(bytes, { level });
}
