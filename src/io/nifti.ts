// NIfTI-1/NIfTI-2 single-file images (.nii, .nii.gz) ↔ Volume: datatypes, byte order, scl_slope/inter
// and geometry with nibabel 5's semantics (get_fdata values, get_best_affine, set_qform/set_sform).
// Header layout and the affine rules live in nifti_header.ts.
import { type DType, type TypedArray, isFloat } from '../core/dtype.js';
import { FormatError, MasamError } from '../core/errors.js';
import { affineProblem } from './geometry.js';
import { DEFAULT_MAX_INFLATED_BYTES, gunzipPrefix, gzip, isGzip } from './gzip.js';
import {
  NIFTI1_MIN_VOX_OFFSET,
  NIFTI2_MIN_VOX_OFFSET,
  type NiftiHeader,
  baseAffine,
  encodeNiftiHeader,
  niftiGeometry,
  parseNiftiHeader,
  qformAffine,
  qformFromAffine,
} from './nifti_header.js';
import type { Affine, Volume } from './volume.js';

/** On-disk datatypes: NIfTI code → name, bytes per voxel and the Volume dtype the raw values load into. */
const DATATYPES: Readonly<Record<number, { name: string; bytes: number; dtype?: DType }>> = {
  1: { name: 'binary', bytes: 0 },
  2: { name: 'uint8', bytes: 1, dtype: 'uint8' },
  4: { name: 'int16', bytes: 2, dtype: 'int16' },
  8: { name: 'int32', bytes: 4, dtype: 'int32' },
  16: { name: 'float32', bytes: 4, dtype: 'float32' },
  32: { name: 'complex64', bytes: 8 },
  64: { name: 'float64', bytes: 8, dtype: 'float64' },
  128: { name: 'rgb24', bytes: 3 },
  256: { name: 'int8', bytes: 1, dtype: 'int8' },
  512: { name: 'uint16', bytes: 2, dtype: 'uint16' },
  // uint32 has no Volume dtype: read as float64, which holds every uint32 exactly.
  768: { name: 'uint32', bytes: 4, dtype: 'float64' },
  1024: { name: 'int64', bytes: 8, dtype: 'int64' },
  // uint64 loads as int64 when every value fits (checked while reading).
  1280: { name: 'uint64', bytes: 8, dtype: 'int64' },
  1536: { name: 'float128', bytes: 16 },
  1792: { name: 'complex128', bytes: 16 },
  2048: { name: 'complex256', bytes: 32 },
  2304: { name: 'rgba32', bytes: 4 },
};

/** NIfTI datatype code written for each Volume dtype (bool as uint8 0/1). */
const CODE_OF: Readonly<Record<DType, number>> = {
  uint8: 2,
  bool: 2,
  int16: 4,
  int32: 8,
  float32: 16,
  float64: 64,
  int8: 256,
  uint16: 512,
  int64: 1024,
};

/** Integer datatypes a scaled float volume can be stored back into, with their value ranges. */
const SCALED_TARGETS: Readonly<Record<number, readonly [number, number]>> = {
  2: [0, 255],
  4: [-32768, 32767],
  8: [-(2 ** 31), 2 ** 31 - 1],
  256: [-128, 127],
  512: [0, 65535],
};

const PLATFORM_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Name of a NIfTI datatype code ('int16', 'float32', …), or `code N` when unknown. */
export function niftiDatatypeName(code: number): string {
  return DATATYPES[code]?.name ?? `code ${code}`;
}

function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let at = 0; at < bytes.length; at += width) bytes.subarray(at, at + width).reverse();
}

/** Copies `count` voxels of `code` at `offset` into an aligned typed array in platform byte order. */
function readRaw(
  bytes: Uint8Array,
  h: NiftiHeader,
  offset: number,
  count: number,
  source: string,
): { dtype: DType; data: TypedArray } {
  const info = DATATYPES[h.datatype];
  const width = info?.bytes ?? 0;
  // A fresh, aligned copy (not bytes.slice: a Node Buffer's slice is a view into its pool).
  const buf = new Uint8Array(count * width);
  buf.set(bytes.subarray(offset, offset + count * width));
  if (h.littleEndian !== PLATFORM_LE) swapBytes(buf, width);
  const ab = buf.buffer;
  switch (h.datatype) {
    case 2:
      return { dtype: 'uint8', data: buf };
    case 256:
      return { dtype: 'int8', data: new Int8Array(ab) };
    case 4:
      return { dtype: 'int16', data: new Int16Array(ab) };
    case 512:
      return { dtype: 'uint16', data: new Uint16Array(ab) };
    case 8:
      return { dtype: 'int32', data: new Int32Array(ab) };
    case 768:
      return { dtype: 'float64', data: Float64Array.from(new Uint32Array(ab)) };
    case 16:
      return { dtype: 'float32', data: new Float32Array(ab) };
    case 64:
      return { dtype: 'float64', data: new Float64Array(ab) };
    case 1024:
      return { dtype: 'int64', data: new BigInt64Array(ab) };
    case 1280: {
      const big = new BigUint64Array(ab);
      for (const x of big) {
        if (x >= 2n ** 63n) throw new FormatError(source, `uint64 voxel value ${x} does not fit int64`);
      }
      return { dtype: 'int64', data: new BigInt64Array(ab) };
    }
    default:
      throw new FormatError(source, `unsupported datatype ${h.datatype} (${niftiDatatypeName(h.datatype)})`);
  }
}

/**
 * Applies scl_slope/scl_inter as nibabel does: a slope of 0 or NaN means no scaling, (1, 0) leaves the
 * values untouched, otherwise raw·slope + inter in float64. The result is float32 when every scaled value
 * is exactly a float32 (no information lost), else float64 — either way the values equal nibabel's get_fdata.
 */
function applyScaling(raw: { dtype: DType; data: TypedArray }, h: NiftiHeader, source: string) {
  const { sclSlope: slope, sclInter: inter } = h;
  if (slope === 0 || !Number.isFinite(slope)) return raw;
  if (!Number.isFinite(inter))
    throw new FormatError(source, `valid scl_slope ${slope} but invalid scl_inter ${inter}`);
  if (slope === 1 && inter === 0) return raw;
  const n = raw.data.length;
  const scaled = new Float64Array(n);
  let fitsFloat32 = true;
  if (raw.data instanceof BigInt64Array) {
    for (let i = 0; i < n; i++) scaled[i] = Number(raw.data[i]!) * slope + inter;
  } else {
    const src = raw.data;
    for (let i = 0; i < n; i++) scaled[i] = src[i]! * slope + inter;
  }
  for (let i = 0; i < n && fitsFloat32; i++) fitsFloat32 = Math.fround(scaled[i]!) === scaled[i];
  return fitsFloat32
    ? { dtype: 'float32' as const, data: Float32Array.from(scaled) }
    : { dtype: 'float64' as const, data: scaled };
}

/** Volume shape of the header dims: 1D/2D padded to 3D, trailing singleton axes past the 4th dropped. */
function volumeShape(dims: readonly number[], source: string): number[] {
  const shape = [...dims];
  while (shape.length < 3) shape.push(1);
  while (shape.length > 4 && shape[shape.length - 1] === 1) shape.pop();
  if (shape.length > 4) {
    throw new FormatError(source, `unsupported dims [${dims.join(', ')}]: only 3D and 4D images are read`);
  }
  return shape;
}

/** Options of parseNifti. */
export interface NiftiReadOptions {
  /**
   * Largest image (vox_offset + voxel data, in bytes) accepted, default DEFAULT_MAX_INFLATED_BYTES (4 GiB).
   * A header declaring more is refused before anything is decompressed.
   */
  readonly maxBytes?: number;
}

/**
 * Decompressed bytes tolerated after the declared image data of a .nii.gz (ignored, as nibabel ignores
 * them): nifti1.h defines nothing after vox_offset + dims·bitpix/8, but block-aligned copies and some
 * writers leave padding. More than this is refused: a stream holding far more than its header declares is
 * corrupt (wrong dims) or hostile (a decompression bomb), and inflating it would cost its size.
 */
export const NIFTI_TRAILING_SLACK = 64 * 1024;

/** Where the voxel data lies: its offset, byte count and on-disk datatype, checked against `maxBytes`. */
function dataLayout(h: NiftiHeader, source: string, maxBytes: number) {
  const info = DATATYPES[h.datatype];
  if (info?.dtype === undefined) {
    throw new FormatError(source, `unsupported datatype ${h.datatype} (${niftiDatatypeName(h.datatype)})`);
  }
  if (!Number.isSafeInteger(h.voxOffset) || h.voxOffset < 0) {
    throw new FormatError(source, `vox_offset ${h.voxOffset} is not a byte offset`);
  }
  // A single-file image's data cannot start inside the header; nibabel resets such offsets the same way.
  const minOffset = h.version === 1 ? NIFTI1_MIN_VOX_OFFSET : NIFTI2_MIN_VOX_OFFSET;
  const offset = Math.max(h.voxOffset, minOffset);
  const count = h.dims.reduce((a, b) => a * b, 1);
  const need = count * info.bytes;
  if (!Number.isSafeInteger(offset + need))
    throw new FormatError(source, `inconsistent dims: [${h.dims.join(', ')}] overflow`);
  if (offset + need > maxBytes) {
    throw new FormatError(
      source,
      `dims [${h.dims.join(', ')}] of ${info.name} after vox_offset ${offset} declare ${offset + need} bytes, ` +
        `more than the ${maxBytes}-byte limit (maxBytes)`,
    );
  }
  return { info: { ...info, dtype: info.dtype }, offset, count, need };
}

/**
 * The uncompressed file: the bytes themselves, or for .nii.gz the header inflated first and validated,
 * then at most the image it declares (+ NIFTI_TRAILING_SLACK), so a bomb is refused after inflating only
 * what its header promises.
 */
function inflateDeclared(bytes: Uint8Array, source: string, maxBytes: number): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  const head = gunzipPrefix(bytes, NIFTI2_MIN_VOX_OFFSET, source).data;
  const { offset, need } = dataLayout(parseNiftiHeader(head, source), source, maxBytes);
  const declared = offset + need;
  const { data, complete } = gunzipPrefix(bytes, declared + NIFTI_TRAILING_SLACK, source);
  if (!complete) {
    throw new FormatError(
      source,
      `decompresses past the ${declared} bytes its header declares (more than ${NIFTI_TRAILING_SLACK} bytes ` +
        'of trailing data): corrupt dims or a decompression bomb',
    );
  }
  return data;
}

/**
 * Parses a .nii or .nii.gz image (gzip detected from the bytes) into a Volume.
 *
 * Data keeps the on-disk dtype unless scl_slope/scl_inter scale it (then float32 or float64, see
 * `applyScaling`); uint32 reads as float64, int64 and uint64 as int64 (BigInt64Array). The affine follows
 * nibabel's precedence (sform, else qform, else the pixdim fall-back); `spacing` is pixdim[1..ndim]
 * (nibabel `get_zooms`). `source.header` holds the parsed NiftiHeader for writers.
 *
 * @param source file name used in error messages.
 * @throws FormatError for a truncated file, wrong magic or sizeof_hdr, inconsistent dims, an unsupported
 *   datatype, a vox_offset beyond the end of the file, an image larger than `options.maxBytes`, or a
 *   .nii.gz that decompresses past what its header declares.
 */
export function parseNifti(bytes: Uint8Array, source: string, options: NiftiReadOptions = {}): Volume {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_INFLATED_BYTES;
  const raw = inflateDeclared(bytes, source, maxBytes);
  const h = parseNiftiHeader(raw, source);
  const { info, offset, count, need } = dataLayout(h, source, maxBytes);
  if (offset > raw.length) {
    throw new FormatError(
      source,
      `vox_offset ${h.voxOffset} is beyond the end of the file (${raw.length} bytes)`,
    );
  }
  const shape = volumeShape(h.dims, source);
  if (offset + need > raw.length) {
    throw new FormatError(
      source,
      `truncated: dims [${h.dims.join(', ')}] of ${info.name} need ${need} data bytes after vox_offset ${offset}, ` +
        `the file has ${raw.length - offset}`,
    );
  }
  const { dtype, data } = applyScaling(readRaw(raw, h, offset, count, source), h, source);
  const geometry = niftiGeometry(h, source);
  const spacing = shape.map((_, a) => (a < h.dims.length ? geometry.pixdim[a + 1]! : 1));
  const warnings = geometry.warnings.map((w) => `${source}: ${w}`);
  return {
    data,
    dtype,
    shape,
    spacing,
    affine: geometry.affine,
    source: { format: 'nifti', header: { ...h }, ...(warnings.length > 0 && { warnings }) },
  };
}

/** The NiftiHeader a Volume was read with, or undefined when it did not come from a NIfTI file. */
export function niftiHeaderOf(volume: Volume): NiftiHeader | undefined {
  const header = volume.source?.header;
  if (volume.source?.format !== 'nifti' || header === undefined) return undefined;
  const numeric = ['datatype', 'sclSlope', 'sclInter', 'qformCode', 'sformCode', 'xyztUnits'];
  const ok =
    (header['version'] === 1 || header['version'] === 2) &&
    Array.isArray(header['dims']) &&
    numeric.every((k) => typeof header[k] === 'number');
  return ok ? (header as NiftiHeader) : undefined;
}

/** Options of serializeNifti; every field is optional. */
export interface NiftiWriteOptions {
  /** 1 or 2; default the source header's version, else 1. NIfTI-2 is used anyway when an axis exceeds 32767. */
  readonly version?: 1 | 2;
  /** gzip the result (.nii.gz); default false. */
  readonly gzip?: boolean;
  /** Byte order; default little-endian. */
  readonly littleEndian?: boolean;
  /** qform_code / sform_code; default the source header's codes, else 1 (NIFTI_XFORM_SCANNER_ANAT). */
  readonly qformCode?: number;
  readonly sformCode?: number;
  /** descrip (up to 79 ASCII characters); default the source header's. */
  readonly description?: string;
}

/** Codes written when neither the options nor a source header give them: scanner-anatomical, as dcm2niix. */
const DEFAULT_XFORM_CODE = 1;

/**
 * Stores a scaled float volume back into its source's integer datatype with the same slope/inter, when
 * every value is exactly raw·slope + inter for an in-range integer raw (so reading gives the same values).
 */
function encodeScaled(volume: Volume, src: NiftiHeader | undefined) {
  if (src === undefined || !isFloat(volume.dtype)) return undefined;
  const { sclSlope: slope, sclInter: inter, datatype } = src;
  const range = SCALED_TARGETS[datatype];
  if (range === undefined || slope === 0 || !Number.isFinite(slope) || !Number.isFinite(inter))
    return undefined;
  const values = volume.data as Float32Array | Float64Array;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const r = Math.round((values[i]! - inter) / slope);
    if (!(r >= range[0] && r <= range[1]) || r * slope + inter !== values[i]) return undefined;
    out[i] = r;
  }
  const data =
    datatype === 2
      ? Uint8Array.from(out)
      : datatype === 4
        ? Int16Array.from(out)
        : datatype === 8
          ? Int32Array.from(out)
          : datatype === 256
            ? Int8Array.from(out)
            : Uint16Array.from(out);
  return { datatype, data, slope, inter };
}

/**
 * Whether two affines agree up to the float32 rounding of a NIfTI-1 header: the 3×3 parts within 1e-5 of
 * the largest voxel-size entry, the translations within 1e-5 of the largest offset (mm).
 */
function sameGeometry(a: Affine, b: Affine): boolean {
  let linear = 1;
  let offset = 1;
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) linear = Math.max(linear, Math.abs(b[r]![c]!));
    offset = Math.max(offset, Math.abs(b[r]![3]!));
  }
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) if (Math.abs(a[r]![c]! - b[r]![c]!) > 1e-5 * linear) return false;
    if (Math.abs(a[r]![3]! - b[r]![3]!) > 1e-5 * offset) return false;
  }
  return true;
}

/** The raw bytes of `data` in the requested byte order. */
function dataBytes(data: TypedArray, littleEndian: boolean): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (littleEndian === PLATFORM_LE) return view;
  const copy = view.slice();
  swapBytes(copy, data.BYTES_PER_ELEMENT);
  return copy;
}

/**
 * Serialises a Volume as a single-file NIfTI image (.nii, or .nii.gz with `gzip`).
 *
 * Geometry: the sform is the affine itself and the qform its rotation as a quaternion (nibabel
 * `set_qform`: pixdim[1..3] = column lengths, qfac −1 for a left-handed affine, shear dropped). Codes come
 * from the options, else the source header, else 1. When the sform code is 0 and the qform (or, with both
 * codes 0, the pixdim fall-back) would not give the affine back, the sform code is raised (to the qform
 * code, or 2 = aligned) so no reader loses the geometry. A float volume read from a scaled integer file is
 * stored back in that datatype with the same scl_slope/inter when this is exact; everything else is
 * written in its own dtype unscaled (bool as uint8). Reading the result with parseNifti gives the same
 * data, dtype, shape and affine (up to float32 rounding of the header fields in NIfTI-1).
 */
export function serializeNifti(volume: Volume, options: NiftiWriteOptions = {}): Uint8Array {
  const { shape, data } = volume;
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.length < 1 || shape.length > 7 || shape.some((d) => !(Number.isInteger(d) && d >= 1))) {
    throw new MasamError(
      `serializeNifti: shape [${shape.join(', ')}] is not a NIfTI shape (1..7 axes, each ≥ 1)`,
    );
  }
  if (data.length !== count) {
    throw new MasamError(`serializeNifti: ${data.length} values do not fill shape [${shape.join(', ')}]`);
  }
  const problem = affineProblem(volume.affine);
  if (problem !== undefined) {
    throw new MasamError(
      `serializeNifti: the volume's affine ${problem}; impossible geometry is not written`,
    );
  }
  const src = niftiHeaderOf(volume);
  const littleEndian = options.littleEndian ?? true;
  const version = shape.some((d) => d > 32767) ? 2 : (options.version ?? src?.version ?? 1);
  const scaled = encodeScaled(volume, src);
  const datatype = scaled?.datatype ?? CODE_OF[volume.dtype];

  const q = qformFromAffine(volume.affine);
  // pixdim keeps the volume's own spacing where it agrees with the affine (exact source values).
  const zooms = q.zooms.map((z, a) => {
    const s = volume.spacing[a];
    return s !== undefined && Math.abs(s - z) <= 1e-6 * Math.max(1, z) ? s : z;
  });
  const pixdim = [
    q.qfac,
    ...zooms,
    ...[3, 4, 5, 6].map((a) => {
      const step = a < shape.length ? (volume.spacing[a] ?? 1) : 1;
      return Number.isFinite(step) && step > 0 ? step : 1;
    }),
  ];
  const sameDims =
    src !== undefined && src.dims.length === shape.length && src.dims.every((d, a) => d === shape[a]);
  const affine = volume.affine;
  let header: NiftiHeader = {
    version,
    littleEndian,
    dims: [...shape],
    datatype,
    bitpix: 8 * DATATYPES[datatype]!.bytes,
    pixdim,
    voxOffset: version === 1 ? NIFTI1_MIN_VOX_OFFSET : NIFTI2_MIN_VOX_OFFSET,
    sclSlope: scaled?.slope ?? 1,
    sclInter: scaled?.inter ?? 0,
    qformCode: options.qformCode ?? src?.qformCode ?? DEFAULT_XFORM_CODE,
    sformCode: options.sformCode ?? src?.sformCode ?? DEFAULT_XFORM_CODE,
    quatern: q.quatern,
    qoffset: q.qoffset,
    srow: [affine[0], affine[1], affine[2]],
    // Spatial units are always mm (the affine's unit); time units are kept from the source, else seconds.
    xyztUnits: 2 | (shape.length > 3 ? (src?.xyztUnits ?? 0) & 0x38 || 8 : 0),
    intentCode: 0,
    intentParams: [0, 0, 0],
    intentName: '',
    descrip: options.description ?? src?.descrip ?? '',
    auxFile: '',
    dimInfo: sameDims ? src.dimInfo : 0,
    sliceStart: sameDims ? src.sliceStart : 0,
    sliceEnd: sameDims ? src.sliceEnd : 0,
    sliceCode: sameDims ? src.sliceCode : 0,
    sliceDuration: sameDims ? src.sliceDuration : 0,
    toffset: sameDims ? src.toffset : 0,
    calMin: 0,
    calMax: 0,
  };
  if (header.sformCode <= 0 && options.sformCode === undefined) {
    // Round-trip through the header's own precision to see what a reader would get without the sform.
    const reread = parseNiftiHeader(encodeNiftiHeader(header), 'serializeNifti');
    const seen = reread.qformCode > 0 ? qformAffine(reread) : baseAffine(reread.dims, reread.pixdim);
    if (!sameGeometry(seen, affine)) {
      header = { ...header, sformCode: header.qformCode > 0 ? header.qformCode : 2 };
    }
  }
  const head = encodeNiftiHeader(header);
  const body = dataBytes(scaled?.data ?? data, littleEndian);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return options.gzip ? gzip(out) : out;
}
