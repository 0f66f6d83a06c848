// DICOM Part 10 files → DicomSlice (PS3.10 §7 file format, PS3.5 data encoding, PS3.3 C.7.6.2 Image Plane and
// C.7.6.3 Image Pixel modules) and a series of slices → Volume in RAS+ (dicom_series.ts). Bytes in, no file
// system: the CLI and the viewer supply the bytes.
import dicomParser, { type DataSet } from 'dicom-parser';
import { FormatError } from '../core/errors.js';
import { DEFAULT_MAX_INFLATED_BYTES, inflateRawPrefix } from './gzip.js';
import { CodecNotReadyError, dicomCodecsReady, initDicomCodecs } from './dicom_codecs.js';
import {
  decodeEncapsulatedFrame,
  decodeNativeFrame,
  type PixelFormat,
  type StoredPixels,
  TRANSFER_SYNTAXES,
  type TransferSyntax,
  UNSUPPORTED_SYNTAX_NAMES,
} from './dicom_pixels.js';
import { type DicomStudyAttributes, STUDY_ATTRIBUTES, type StudyKeyword } from './dicom_seg.js';

export { type DicomCodecOptions, dicomCodecsReady, initDicomCodecs } from './dicom_codecs.js';
export type { StoredPixels } from './dicom_pixels.js';
export type { DicomSeriesInfo, DicomStudyAttributes } from './dicom_seg.js';
export { type DicomSeries, dicomSeriesToVolume, groupDicomSeries } from './dicom_series.js';

/** A 3-vector in patient coordinates (LPS, mm). */
export type Vec3 = readonly [number, number, number];

/**
 * One parsed single-frame DICOM image: stored pixel values plus the tags needed to place it in a volume.
 * Geometry is in DICOM patient coordinates (LPS); `dicomSeriesToVolume` converts to RAS.
 */
export interface DicomSlice {
  /** The name the caller gave (usually the file path); every error about this slice names it. */
  readonly source: string;
  readonly transferSyntaxUID: string;
  readonly rows: number;
  readonly columns: number;
  /**
   * Stored values before the modality LUT (rescale), row-major [rows, columns]: BitsStored bits,
   * sign-extended when PixelRepresentation is 1. MONOCHROME1 data is not inverted (see `dicomSeriesToVolume`).
   */
  readonly pixels: StoredPixels;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  /** 0 = unsigned, 1 = two's complement. */
  readonly pixelRepresentation: number;
  /** 'MONOCHROME1' (low values display bright) or 'MONOCHROME2'. */
  readonly photometricInterpretation: string;
  /** RescaleSlope (0028,1053), 1 when absent. Physical value = slope · stored + intercept (HU for CT). */
  readonly rescaleSlope: number;
  /** RescaleIntercept (0028,1052), 0 when absent. */
  readonly rescaleIntercept: number;
  /** PixelSpacing (0028,0030) in DICOM order: [between rows (mm), between columns (mm)]; absent → undefined. */
  readonly pixelSpacing?: readonly [number, number];
  /** ImagePositionPatient (0020,0032): centre of the first transmitted voxel, LPS mm. */
  readonly imagePositionPatient?: Vec3;
  /** ImageOrientationPatient (0020,0037): direction cosines of a row (first 3) and of a column (last 3). */
  readonly imageOrientationPatient?: readonly [number, number, number, number, number, number];
  readonly sliceThickness?: number;
  readonly spacingBetweenSlices?: number;
  readonly instanceNumber?: number;
  readonly modality?: string;
  readonly sopClassUID?: string;
  readonly sopInstanceUID?: string;
  readonly studyInstanceUID?: string;
  readonly seriesInstanceUID?: string;
  readonly frameOfReferenceUID?: string;
  /** SpecificCharacterSet (0008,0005) as stored; absent = the default repertoire (ASCII). */
  readonly specificCharacterSet?: string;
  /** The patient and study attributes a DICOM-SEG copies (STUDY_ATTRIBUTES), those present. */
  readonly studyAttributes?: DicomStudyAttributes;
}

/** True when `bytes` start like a DICOM Part 10 file: a 128-byte preamble, then 'DICM'. */
export function isDicom(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 132 &&
    bytes[128] === 0x44 &&
    bytes[129] === 0x49 &&
    bytes[130] === 0x43 &&
    bytes[131] === 0x4d
  );
}

export interface ParsedFile {
  readonly ds: DataSet;
  readonly tsUid: string;
  readonly ts: TransferSyntax;
}

/** dicom-parser throws strings, Errors, or `{ exception, dataSet }`; get a readable message out. */
function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  if (typeof e === 'object' && e !== null && 'exception' in e) return describe(e.exception);
  return String(e);
}

/** Options of parseDicom. */
export interface DicomReadOptions {
  /** Largest deflated data set inflated, in bytes; default DEFAULT_MAX_INFLATED_BYTES (4 GiB). */
  readonly maxBytes?: number;
}

/**
 * Inflated bytes tolerated after a deflated data set's declared Pixel Data: room for trailing elements
 * (DataSetTrailingPadding, digital signatures), whose size nothing declares.
 */
const DEFLATED_TRAILING_SLACK = 1 << 20;

/**
 * Inflated bytes searched for the Pixel Data header of a deflated data set. The attributes before it take
 * kilobytes (per-frame functional groups about a MiB for a thousand frames); a stream still without Pixel
 * Data after this much declares nothing that bounds it and is refused rather than inflated up to maxBytes
 * (each search re-parses the prefix, costing about 15 times its size in memory, so the bound stays small).
 */
const DEFLATED_HEADER_LIMIT = 1 << 20;

/**
 * Where the declared Pixel Data of a (partly) inflated data set ends: its value offset plus Rows × Columns
 * × SamplesPerPixel × BitsAllocated/8 × NumberOfFrames, or undefined while the elements before it are not
 * all inflated yet. The deflated syntax encodes pixels natively, so these attributes give their size.
 */
function declaredDataSetEnd(full: Uint8Array): number | undefined {
  try {
    // The bytes are inflated already: the inflater hands them back unchanged.
    const ds = dicomParser.parseDicom(full, { untilTag: 'x7fe00010', inflater: (b: Uint8Array) => b });
    const el = ds.elements['x7fe00010'];
    if (!el) return undefined;
    const samples =
      (ds.uint16('x00280010') ?? 0) *
      (ds.uint16('x00280011') ?? 0) *
      (ds.uint16('x00280002') ?? 1) *
      Math.max(1, ds.intString('x00280008') ?? 1);
    const size = Math.ceil((samples * (ds.uint16('x00280100') ?? 16)) / 8);
    return el.dataOffset + size + (size % 2);
  } catch {
    return undefined; // an element cut at the end of what is inflated so far
  }
}

/**
 * Deflated transfer syntax (PS3.5 A.5): the data set after the meta group is raw DEFLATE (RFC 1951). It
 * is inflated in growing prefixes until the Image Pixel attributes and the Pixel Data header are in, then
 * to at most what they declare (+ DEFLATED_TRAILING_SLACK): a bomb costs its declared size, not its own.
 */
function inflateDataSet(bytes: Uint8Array, position: number, source: string, maxBytes: number): Uint8Array {
  const deflated = bytes.subarray(position);
  const withMeta = (data: Uint8Array): Uint8Array => {
    const full = new Uint8Array(position + data.length);
    full.set(bytes.subarray(0, position));
    full.set(data, position);
    return full;
  };
  for (let limit = Math.min(maxBytes, 1 << 16); ; limit = Math.min(maxBytes, 4 * limit)) {
    const { data, complete } = inflateRawPrefix(deflated, limit, source);
    if (complete) return withMeta(data);
    const declared = declaredDataSetEnd(withMeta(data));
    if (declared !== undefined) {
      const bound = Math.min(maxBytes, declared - position + DEFLATED_TRAILING_SLACK);
      const all = inflateRawPrefix(deflated, bound, source);
      if (!all.complete) {
        throw new FormatError(
          source,
          `the deflated data set decompresses past the ${declared - position} bytes its Rows, Columns, ` +
            `SamplesPerPixel, BitsAllocated and NumberOfFrames declare (+ ${DEFLATED_TRAILING_SLACK} bytes ` +
            `for trailing elements${bound === maxBytes ? `, capped by maxBytes ${maxBytes}` : ''})`,
        );
      }
      return withMeta(all.data);
    }
    if (limit >= maxBytes) {
      throw new FormatError(
        source,
        `the deflated data set decompresses past the ${maxBytes}-byte limit (maxBytes) before its Pixel Data`,
      );
    }
    if (limit >= DEFLATED_HEADER_LIMIT) {
      throw new FormatError(
        source,
        `the deflated data set has no Pixel Data (7FE0,0010) with Rows and Columns in its first ${limit} bytes`,
      );
    }
  }
}

/** A Part 10 file's data set: transfer syntax checked, a deflated data set inflated within bounds. */
export function parseFile(bytes: Uint8Array, source: string, options: DicomReadOptions): ParsedFile {
  if (!isDicom(bytes)) {
    throw new FormatError(source, "not a DICOM Part 10 file (no 'DICM' marker at byte 128)");
  }
  let tsUid: string | undefined;
  let metaEnd = 0;
  try {
    const meta = dicomParser.readPart10Header(bytes);
    tsUid = meta.string('x00020010');
    metaEnd = 132 + 12 + (meta.uint32('x00020000') ?? 0); // preamble, DICM, the group length element
  } catch (e) {
    throw new FormatError(source, `truncated or malformed DICOM file meta information: ${describe(e)}`);
  }
  if (metaEnd > bytes.length) {
    throw new FormatError(
      source,
      `truncated: the file meta information needs ${metaEnd} bytes, got ${bytes.length}`,
    );
  }
  if (!tsUid) throw new FormatError(source, 'file meta information has no TransferSyntaxUID (0002,0010)');
  const ts = TRANSFER_SYNTAXES[tsUid];
  if (!ts) {
    const name = UNSUPPORTED_SYNTAX_NAMES[tsUid];
    const known = Object.values(TRANSFER_SYNTAXES)
      .map((t) => t.name)
      .join(', ');
    throw new FormatError(
      source,
      `unsupported transfer syntax ${tsUid}${name ? ` (${name})` : ''}; masam decodes ${known}`,
    );
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_INFLATED_BYTES;
  const inflater = (b: Uint8Array, position: number) => inflateDataSet(b, position, source, maxBytes);
  try {
    const ds = dicomParser.parseDicom(bytes, ts.deflated ? { inflater } : {});
    return { ds, tsUid, ts };
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(source, `truncated or malformed DICOM data set (${ts.name}): ${describe(e)}`);
  }
}

/** A decimal string (DS) attribute with exactly `count` numeric values; absent → undefined. */
function decimals(
  ds: DataSet,
  tag: string,
  count: number,
  what: string,
  source: string,
): number[] | undefined {
  const el = ds.elements[tag];
  if (!el || el.length === 0) return undefined;
  const values = Array.from({ length: ds.numStringValues(tag) ?? 0 }, (_, i) => ds.floatString(tag, i));
  if (values.length !== count || values.some((v) => v === undefined || !Number.isFinite(v))) {
    const raw = ds.string(tag) ?? '';
    throw new FormatError(source, `${what} is not ${count} number(s): '${raw}'`);
  }
  return values as number[];
}

function requiredUint16(ds: DataSet, tag: string, what: string, source: string): number {
  const v = ds.uint16(tag);
  if (v === undefined) throw new FormatError(source, `missing ${what}`);
  return v;
}

function optionalString(ds: DataSet, tag: string): string | undefined {
  const v = ds.string(tag);
  return v === undefined || v === '' ? undefined : v;
}

/** A text value's bytes, one character per byte, trailing padding removed (copied verbatim into a SEG). */
function storedText(ds: DataSet, tag: string): string | undefined {
  const el = ds.elements[tag];
  if (!el || el.length === 0 || el.items) return undefined;
  const bytes: Uint8Array = ds.byteArray.subarray(
    el.dataOffset,
    Math.min(el.dataOffset + el.length, ds.byteArray.length),
  );
  const text = Array.from(bytes, (b) => String.fromCharCode(b))
    .join('')
    .replace(/[\0 ]+$/, '');
  return text === '' ? undefined : text;
}

function studyAttributes(ds: DataSet): DicomStudyAttributes {
  const out: Partial<Record<StudyKeyword, string>> = {};
  for (const [keyword, [tag]] of Object.entries(STUDY_ATTRIBUTES)) {
    const value = storedText(ds, `x${tag.toString(16).padStart(8, '0')}`);
    if (value !== undefined) out[keyword as StudyKeyword] = value;
  }
  return out;
}

/** Image Pixel module checks: what masam can turn into a scalar volume. */
function readPixelFormat(ds: DataSet, source: string): { fmt: PixelFormat; photometric: string } {
  const rows = requiredUint16(ds, 'x00280010', 'Rows (0028,0010)', source);
  const columns = requiredUint16(ds, 'x00280011', 'Columns (0028,0011)', source);
  const samplesPerPixel = ds.uint16('x00280002') ?? 1;
  const photometric = optionalString(ds, 'x00280004') ?? 'MONOCHROME2';
  const bitsAllocated = requiredUint16(ds, 'x00280100', 'BitsAllocated (0028,0100)', source);
  const bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  const highBit = ds.uint16('x00280102') ?? bitsStored - 1;
  const pixelRepresentation = ds.uint16('x00280103') ?? 0;
  const frames = ds.intString('x00280008') ?? 1;
  if (rows === 0 || columns === 0)
    throw new FormatError(source, `empty image (${rows} rows × ${columns} columns)`);
  if (frames !== 1) {
    throw new FormatError(source, `multi-frame images are not supported (NumberOfFrames = ${frames})`);
  }
  if (samplesPerPixel !== 1 || (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2')) {
    throw new FormatError(
      source,
      `only grayscale images are supported (SamplesPerPixel ${samplesPerPixel}, ${photometric})`,
    );
  }
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new FormatError(source, `BitsAllocated ${bitsAllocated} is not supported (8 or 16)`);
  }
  if (bitsStored < 1 || bitsStored > bitsAllocated || highBit >= bitsAllocated || highBit + 1 < bitsStored) {
    throw new FormatError(
      source,
      `inconsistent BitsAllocated/BitsStored/HighBit ${bitsAllocated}/${bitsStored}/${highBit}`,
    );
  }
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) {
    throw new FormatError(source, `PixelRepresentation ${pixelRepresentation} is neither 0 nor 1`);
  }
  return {
    fmt: { rows, columns, samplesPerPixel, bitsAllocated, bitsStored, highBit, pixelRepresentation },
    photometric,
  };
}

function decodePixels(file: ParsedFile, fmt: PixelFormat, source: string): StoredPixels {
  const { ds, ts, tsUid } = file;
  const el = ds.elements['x7fe00010'];
  if (!el) {
    const float = ds.elements['x7fe00008'] ?? ds.elements['x7fe00009'];
    throw new FormatError(source, float ? 'Float Pixel Data is not supported' : 'no Pixel Data (7FE0,0010)');
  }
  try {
    if (ts.encoding === 'native') {
      if (el.encapsulatedPixelData) throw new Error(`encapsulated pixel data under ${ts.name}`);
      const end = el.dataOffset + el.length;
      if (end > ds.byteArray.length) {
        throw new Error(
          `truncated: Pixel Data declares ${el.length} bytes, the file holds ${ds.byteArray.length - el.dataOffset}`,
        );
      }
      return decodeNativeFrame(ds.byteArray.subarray(el.dataOffset, end), fmt, ts.littleEndian);
    }
    if (!el.encapsulatedPixelData || !el.fragments || el.fragments.length === 0) {
      throw new Error('pixel data is not encapsulated in fragments');
    }
    const frame = dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, el.fragments.length);
    return decodeEncapsulatedFrame(frame, fmt, ts);
  } catch (e) {
    const reason = e instanceof CodecNotReadyError ? e.message : `cannot decode it: ${describe(e)}`;
    throw new FormatError(source, `${ts.name} (${tsUid}) pixel data: ${reason}`);
  }
}

function sliceFromFile(file: ParsedFile, source: string): DicomSlice {
  const { ds } = file;
  const { fmt, photometric } = readPixelFormat(ds, source);
  const pixels = decodePixels(file, fmt, source);
  const slope = decimals(ds, 'x00281053', 1, 'RescaleSlope (0028,1053)', source)?.[0] ?? 1;
  const intercept = decimals(ds, 'x00281052', 1, 'RescaleIntercept (0028,1052)', source)?.[0] ?? 0;
  if (slope === 0) throw new FormatError(source, 'RescaleSlope (0028,1053) is 0');
  const spacing = decimals(ds, 'x00280030', 2, 'PixelSpacing (0028,0030)', source);
  if (spacing?.some((v) => v <= 0)) {
    throw new FormatError(source, `PixelSpacing (0028,0030) must be positive: ${spacing.join('\\')}`);
  }
  const ipp = decimals(ds, 'x00200032', 3, 'ImagePositionPatient (0020,0032)', source);
  const iop = decimals(ds, 'x00200037', 6, 'ImageOrientationPatient (0020,0037)', source);
  return {
    source,
    transferSyntaxUID: file.tsUid,
    rows: fmt.rows,
    columns: fmt.columns,
    pixels,
    bitsAllocated: fmt.bitsAllocated,
    bitsStored: fmt.bitsStored,
    pixelRepresentation: fmt.pixelRepresentation,
    photometricInterpretation: photometric,
    rescaleSlope: slope,
    rescaleIntercept: intercept,
    pixelSpacing: spacing ? [spacing[0]!, spacing[1]!] : undefined,
    imagePositionPatient: ipp ? [ipp[0]!, ipp[1]!, ipp[2]!] : undefined,
    imageOrientationPatient: iop ? [iop[0]!, iop[1]!, iop[2]!, iop[3]!, iop[4]!, iop[5]!] : undefined,
    sliceThickness: decimals(ds, 'x00180050', 1, 'SliceThickness (0018,0050)', source)?.[0],
    spacingBetweenSlices: decimals(ds, 'x00180088', 1, 'SpacingBetweenSlices (0018,0088)', source)?.[0],
    instanceNumber: ds.intString('x00200013'),
    modality: optionalString(ds, 'x00080060'),
    sopClassUID: optionalString(ds, 'x00080016'),
    sopInstanceUID: optionalString(ds, 'x00080018'),
    studyInstanceUID: optionalString(ds, 'x0020000d'),
    seriesInstanceUID: optionalString(ds, 'x0020000e'),
    frameOfReferenceUID: optionalString(ds, 'x00200052'),
    specificCharacterSet: storedText(ds, 'x00080005'),
    studyAttributes: studyAttributes(ds),
  };
}

/**
 * Parse one single-frame DICOM Part 10 file and decode its pixels.
 *
 * Synchronous for every supported syntax except those that need the WASM codecs (8-bit JPEG baseline/extended
 * via libjpeg-turbo, JPEG 2000 via OpenJPEG): call `await initDicomCodecs()` once beforehand, or use
 * `parseDicomAsync`. Uncompressed (implicit/explicit VR little endian, explicit big endian, deflated), RLE,
 * JPEG lossless and 12-bit JPEG extended never need it.
 * @param bytes the whole file
 * @param source a name for messages (the file path)
 * @throws FormatError naming `source` (and the transfer syntax where it matters) for anything unreadable
 */
export function parseDicom(bytes: Uint8Array, source: string, options: DicomReadOptions = {}): DicomSlice {
  return readSlice(parseFile(bytes, source, options), source);
}

/** sliceFromFile, with the strings dicom-parser throws (a value read past the end of the file) as FormatErrors. */
function readSlice(file: ParsedFile, source: string): DicomSlice {
  try {
    return sliceFromFile(file, source);
  } catch (e) {
    if (typeof e === 'string')
      throw new FormatError(source, `malformed DICOM data set (${file.ts.name}): ${e}`);
    throw e;
  }
}

/** `parseDicom`, first loading the WASM codecs when this file's transfer syntax may need them. */
export async function parseDicomAsync(
  bytes: Uint8Array,
  source: string,
  options: DicomReadOptions = {},
): Promise<DicomSlice> {
  const file = parseFile(bytes, source, options);
  if (file.ts.needsWasm && !dicomCodecsReady()) await initDicomCodecs();
  return readSlice(file, source);
}
