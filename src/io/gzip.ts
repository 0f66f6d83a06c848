// gzip (RFC 1952) adapter over fflate: the one place the compression dependency is named, so it can be
// swapped. Decompression goes through fflate's streaming Gunzip, which handles multi-member files.
import { Gunzip, gzipSync } from 'fflate';
import { FormatError } from '../core/errors.js';
import { concatBytes } from './bytes.js';

/** True when `bytes` start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decompresses a gzip stream (all members, concatenated).
 * @param source named in the error when the stream is corrupt or truncated.
 * @throws FormatError when `bytes` is not gzip or ends early.
 */
export function gunzip(bytes: Uint8Array, source = 'gzip data'): Uint8Array {
  if (!isGzip(bytes)) throw new FormatError(source, 'not gzip data (missing 1f 8b magic)');
  // The streaming decoder rather than gunzipSync: gunzipSync sizes its output from the last member's
  // ISIZE trailer, which is wrong for multi-member files and for data over 4 GiB.
  const chunks: Uint8Array[] = [];
  const stream = new Gunzip((chunk) => {
    chunks.push(chunk);
  });
  try {
    // Fed in 1 MiB pieces: measured no slower than one push, and the decoder's buffers stay small.
    const step = 1 << 20;
    for (let at = 0; at < bytes.length; at += step) {
      stream.push(bytes.subarray(at, at + step), at + step >= bytes.length);
    }
  } catch (err) {
    throw new FormatError(source, `corrupt or truncated gzip data (${(err as Error).message})`);
  }
  return chunks.length === 1 ? chunks[0]! : concatBytes(chunks);
}

/** Compresses `bytes` as a single gzip member (deflate level 6, zlib's default speed/size balance). */
export function gzip(bytes: Uint8Array, level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 = 6): Uint8Array {
  return gzipSync(bytes, { level });
}
