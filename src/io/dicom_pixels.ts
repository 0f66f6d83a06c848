// DICOM pixel data → stored values: native encoding (PS3.5 §8.1.1, little and big endian), RLE Lossless
// (PS3.5 Annex G) and dispatch of encapsulated frames to dicom_codecs.ts by transfer syntax (PS3.5 §10, A.4).
// Stored values are BitsStored-wide, sign-extended when PixelRepresentation is 1, before the modality LUT.
import { type DecodedFrame, decodeJpeg2000, decodeJpegLossless, decodeJpegLossy } from './dicom_codecs.js';

/** How a transfer syntax stores pixel data. */
export type PixelEncoding = 'native' | 'rle' | 'jpeg' | 'jpeg-lossless' | 'jpeg2000';

export interface TransferSyntax {
  readonly name: string;
  readonly encoding: PixelEncoding;
  /** Byte order of the data set and of native pixel data. */
  readonly littleEndian: boolean;
  /** The data set after the file meta group is deflated (PS3.5 A.5). */
  readonly deflated?: boolean;
  /** Decoding needs `initDicomCodecs()` (WASM), at least for some streams. */
  readonly needsWasm?: boolean;
}

/** Transfer syntaxes masam decodes, by UID. Anything else is a FormatError naming the UID. */
export const TRANSFER_SYNTAXES: Readonly<Record<string, TransferSyntax>> = {
  '1.2.840.10008.1.2': { name: 'Implicit VR Little Endian', encoding: 'native', littleEndian: true },
  '1.2.840.10008.1.2.1': { name: 'Explicit VR Little Endian', encoding: 'native', littleEndian: true },
  '1.2.840.10008.1.2.1.99': {
    name: 'Deflated Explicit VR Little Endian',
    encoding: 'native',
    littleEndian: true,
    deflated: true,
  },
  '1.2.840.10008.1.2.2': { name: 'Explicit VR Big Endian', encoding: 'native', littleEndian: false },
  '1.2.840.10008.1.2.5': { name: 'RLE Lossless', encoding: 'rle', littleEndian: true },
  '1.2.840.10008.1.2.4.50': { name: 'JPEG Baseline', encoding: 'jpeg', littleEndian: true, needsWasm: true },
  '1.2.840.10008.1.2.4.51': { name: 'JPEG Extended', encoding: 'jpeg', littleEndian: true, needsWasm: true },
  '1.2.840.10008.1.2.4.57': { name: 'JPEG Lossless', encoding: 'jpeg-lossless', littleEndian: true },
  '1.2.840.10008.1.2.4.70': { name: 'JPEG Lossless SV1', encoding: 'jpeg-lossless', littleEndian: true },
  '1.2.840.10008.1.2.4.90': {
    name: 'JPEG 2000 Lossless',
    encoding: 'jpeg2000',
    littleEndian: true,
    needsWasm: true,
  },
  '1.2.840.10008.1.2.4.91': { name: 'JPEG 2000', encoding: 'jpeg2000', littleEndian: true, needsWasm: true },
};

/** Names of well-known transfer syntaxes masam does not decode, for clearer errors. */
export const UNSUPPORTED_SYNTAX_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K Lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.4.100': 'MPEG2',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 AVC/H.264',
  '1.2.840.10008.1.2.4.110': 'JPEG XL Lossless',
};

/** Image Pixel module attributes (PS3.3 C.7.6.3) that say how stored values are packed. */
export interface PixelFormat {
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly highBit: number;
  /** 0 = unsigned, 1 = two's complement. */
  readonly pixelRepresentation: number;
}

/**
 * Stored values of one frame, row-major: the narrowest array that holds them (Int8/Uint8 for BitsAllocated 8,
 * Int16/Uint16 for 16, signed when PixelRepresentation is 1), so a 500-slice CT costs 2 bytes per voxel.
 */
export type StoredPixels = Int8Array | Uint8Array | Int16Array | Uint16Array;

function allocateStored(fmt: PixelFormat, n: number): StoredPixels {
  const signed = fmt.pixelRepresentation === 1;
  if (fmt.bitsAllocated === 8) return signed ? new Int8Array(n) : new Uint8Array(n);
  return signed ? new Int16Array(n) : new Uint16Array(n);
}

/** Problems in the pixel data itself; dicom.ts turns them into FormatErrors naming the file. */
export class PixelDataError extends Error {
  override name = 'PixelDataError';
}

/**
 * Mask the BitsStored bits out of each container word (after shifting HighBit into place) and sign-extend
 * them when PixelRepresentation is 1. `shift` is HighBit + 1 − BitsStored for native/RLE data and 0 for
 * codec output (which holds the stored bits only).
 */
function toStoredValues(words: ArrayLike<number>, fmt: PixelFormat, shift: number): StoredPixels {
  const n = fmt.rows * fmt.columns;
  const out = allocateStored(fmt, n);
  const bits = fmt.bitsStored; // ≤ 16: BitsAllocated is 8 or 16 (checked by the caller)
  const mask = (1 << bits) - 1;
  const sign = 1 << (bits - 1);
  const signed = fmt.pixelRepresentation === 1;
  for (let p = 0; p < n; p++) {
    const v = (words[p]! >>> shift) & mask;
    out[p] = signed && v >= sign ? v - 2 * sign : v;
  }
  return out;
}

/** Native (uncompressed) single frame: BitsAllocated 8 or 16, either byte order. */
export function decodeNativeFrame(bytes: Uint8Array, fmt: PixelFormat, littleEndian: boolean): StoredPixels {
  const n = fmt.rows * fmt.columns;
  const bytesPerSample = fmt.bitsAllocated / 8;
  const need = n * bytesPerSample;
  if (bytes.length < need) {
    throw new PixelDataError(`pixel data truncated: ${bytes.length} bytes, expected ${need}`);
  }
  // Exactly one frame, plus the pad byte that makes an odd length even (PS3.5 7.1.1): more means Rows,
  // Columns or BitsAllocated do not describe this data, and reading it would scramble the image.
  if (bytes.length > need + (need % 2)) {
    throw new PixelDataError(
      `pixel data holds ${bytes.length} bytes, but Rows × Columns × SamplesPerPixel × BitsAllocated/8 ` +
        `(${fmt.rows} × ${fmt.columns} × ${fmt.samplesPerPixel} × ${bytesPerSample}) is ${need}: ` +
        'the attributes disagree with the pixel data',
    );
  }
  const shift = fmt.highBit + 1 - fmt.bitsStored;
  if (bytesPerSample === 1) return toStoredValues(bytes, fmt, shift);
  const view = new DataView(bytes.buffer, bytes.byteOffset, need);
  const words = new Uint16Array(n);
  for (let p = 0; p < n; p++) words[p] = view.getUint16(2 * p, littleEndian);
  return toStoredValues(words, fmt, shift);
}

/** PackBits decoding of one RLE segment (PS3.5 G.3.1) into exactly `n` bytes. */
function unpackRleSegment(seg: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let i = 0;
  let o = 0;
  while (i < seg.length && o < n) {
    const h = seg[i++]!;
    if (h < 128) {
      const len = Math.min(h + 1, n - o, seg.length - i);
      out.set(seg.subarray(i, i + len), o);
      i += h + 1;
      o += len;
    } else if (h > 128) {
      const len = Math.min(257 - h, n - o);
      out.fill(seg[i++] ?? 0, o, o + len);
      o += len;
    } // h === 128 (-128): no operation
  }
  if (o < n) throw new PixelDataError(`RLE segment decodes to ${o} bytes, expected ${n}`);
  // What remains may be an even-length pad byte or no-op codes; runs that would decode to more samples mean
  // Rows × Columns do not describe this data.
  let extra = 0;
  for (let j = i; j < seg.length; ) {
    const h = seg[j++]!;
    if (h < 128 && j + h + 1 <= seg.length) extra += h + 1;
    else if (h > 128 && j < seg.length) extra += 257 - h;
    j += h < 128 ? h + 1 : h > 128 ? 1 : 0;
  }
  if (extra > 0) {
    throw new PixelDataError(
      `RLE segment holds more than Rows × Columns (${n}) samples: the attributes disagree with the pixel data`,
    );
  }
  return out;
}

/** RLE Lossless frame (PS3.5 Annex G): one segment per byte of each sample, most significant first. */
export function decodeRleFrame(frame: Uint8Array, fmt: PixelFormat): StoredPixels {
  if (frame.length < 64) throw new PixelDataError('RLE frame shorter than its 64-byte header');
  const header = new DataView(frame.buffer, frame.byteOffset, 64);
  const segments = header.getUint32(0, true);
  const bytesPerSample = fmt.bitsAllocated / 8;
  if (segments !== bytesPerSample) {
    throw new PixelDataError(`RLE header has ${segments} segments, expected ${bytesPerSample}`);
  }
  const n = fmt.rows * fmt.columns;
  const words = new Uint32Array(n);
  for (let s = 0; s < segments; s++) {
    const start = header.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? header.getUint32(8 + 4 * s, true) : frame.length;
    if (start < 64 || end > frame.length || end < start) throw new PixelDataError('bad RLE segment offsets');
    const bytes = unpackRleSegment(frame.subarray(start, end), n);
    const weight = 2 ** (8 * (bytesPerSample - 1 - s));
    for (let p = 0; p < n; p++) words[p] = words[p]! + bytes[p]! * weight;
  }
  return toStoredValues(words, fmt, fmt.highBit + 1 - fmt.bitsStored);
}

/** Check a codec's output against the DICOM attributes and reduce it to stored values. */
function codecFrameToStored(decoded: DecodedFrame, fmt: PixelFormat): StoredPixels {
  if (decoded.width !== fmt.columns || decoded.height !== fmt.rows) {
    throw new PixelDataError(
      `codestream is ${decoded.width}×${decoded.height}, but Columns×Rows is ${fmt.columns}×${fmt.rows}`,
    );
  }
  if (decoded.components !== 1) {
    throw new PixelDataError(`codestream has ${decoded.components} components, expected 1`);
  }
  if (decoded.signed) return Int16Array.from(decoded.samples.subarray(0, fmt.rows * fmt.columns));
  return toStoredValues(decoded.samples, fmt, 0);
}

/** One encapsulated frame → stored values, through the codec its transfer syntax calls for. */
export function decodeEncapsulatedFrame(
  frame: Uint8Array,
  fmt: PixelFormat,
  ts: TransferSyntax,
): StoredPixels {
  switch (ts.encoding) {
    case 'rle':
      return decodeRleFrame(frame, fmt);
    case 'jpeg':
      return codecFrameToStored(decodeJpegLossy(frame), fmt);
    case 'jpeg-lossless':
      return codecFrameToStored(decodeJpegLossless(frame), fmt);
    case 'jpeg2000':
      return codecFrameToStored(decodeJpeg2000(frame), fmt);
    case 'native':
      throw new PixelDataError('native transfer syntax with encapsulated pixel data');
  }
}
