// NIfTI-1 (348-byte) and NIfTI-2 (540-byte) headers: field layout, byte order, validation, and the
// qform/sform → affine rules, following nifti1.h / nifti2.h and nibabel 5's Nifti1Header / Nifti2Header.
import { FormatError } from '../core/errors.js';
import {
  type Mat3,
  affineProblem,
  determinant3,
  linearPart,
  mat2quat,
  nearestOrthonormal,
  quat2mat,
  voxelSizes,
} from './geometry.js';
import type { Affine } from './volume.js';

/**
 * The fields of a NIfTI header that masam reads and writes, with NIfTI-1 and NIfTI-2 unified (NIfTI-1
 * float32 fields are widened exactly to numbers). A type alias, so it fits `VolumeSource.header`.
 */
export type NiftiHeader = {
  readonly version: 1 | 2;
  readonly littleEndian: boolean;
  /** dim[1..dim[0]]: the size of each axis. */
  readonly dims: readonly number[];
  /** NIfTI datatype code (2 uint8, 4 int16, 16 float32, …). */
  readonly datatype: number;
  readonly bitpix: number;
  /** All 8 pixdim entries; pixdim[0] is qfac (±1), pixdim[1..] the voxel sizes. */
  readonly pixdim: readonly number[];
  /** Byte offset of the voxel data in a single-file (.nii) image. */
  readonly voxOffset: number;
  readonly sclSlope: number;
  readonly sclInter: number;
  readonly qformCode: number;
  readonly sformCode: number;
  /** quatern_b, quatern_c, quatern_d (the quaternion's w is implied). */
  readonly quatern: readonly [number, number, number];
  /** qoffset_x, qoffset_y, qoffset_z. */
  readonly qoffset: readonly [number, number, number];
  /** srow_x, srow_y, srow_z: the first three rows of the sform affine. */
  readonly srow: readonly (readonly number[])[];
  readonly xyztUnits: number;
  readonly intentCode: number;
  readonly intentParams: readonly [number, number, number];
  readonly intentName: string;
  readonly descrip: string;
  readonly auxFile: string;
  readonly dimInfo: number;
  readonly sliceStart: number;
  readonly sliceEnd: number;
  readonly sliceCode: number;
  readonly sliceDuration: number;
  readonly toffset: number;
  readonly calMin: number;
  readonly calMax: number;
};

/** Header size without the 4 extension bytes, and the smallest data offset of a single-file image. */
export const NIFTI1_HEADER_SIZE = 348;
export const NIFTI2_HEADER_SIZE = 540;
export const NIFTI1_MIN_VOX_OFFSET = 352;
export const NIFTI2_MIN_VOX_OFFSET = 544;

const MAGIC2 = [0x6e, 0x2b, 0x32, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]; // 'n+2\0\r\n\032\n'

function ascii(bytes: Uint8Array, start: number, length: number): string {
  let s = '';
  for (let i = start; i < start + length && bytes[i] !== 0; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/** Which NIfTI version and byte order `bytes` holds, from sizeof_hdr (348 or 540, either order). */
function detect(bytes: Uint8Array, source: string): { version: 1 | 2; littleEndian: boolean } {
  if (bytes.length < 4) throw new FormatError(source, `truncated: ${bytes.length} bytes is no NIfTI header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const littleEndian of [true, false]) {
    const size = view.getInt32(0, littleEndian);
    if (size === NIFTI1_HEADER_SIZE) return { version: 1, littleEndian };
    if (size === NIFTI2_HEADER_SIZE) return { version: 2, littleEndian };
  }
  const size = view.getInt32(0, true);
  const hasMagic1 = bytes.length >= 348 && ['n+1', 'ni1'].includes(ascii(bytes, 344, 4));
  const hasMagic2 = bytes.length >= 8 && ascii(bytes, 4, 4) === 'n+2';
  if (hasMagic1 || hasMagic2) {
    throw new FormatError(
      source,
      `sizeof_hdr is ${size}, expected ${hasMagic1 ? 348 : 540} for its NIfTI magic`,
    );
  }
  throw new FormatError(
    source,
    `not a NIfTI file: sizeof_hdr is ${size} (expected 348 or 540) and no NIfTI magic`,
  );
}

/**
 * Parses and validates the header at the start of `bytes` (uncompressed).
 * @throws FormatError on a truncated header, a wrong sizeof_hdr or magic, or inconsistent dims.
 */
export function parseNiftiHeader(bytes: Uint8Array, source: string): NiftiHeader {
  const { version, littleEndian: le } = detect(bytes, source);
  const size = version === 1 ? NIFTI1_HEADER_SIZE : NIFTI2_HEADER_SIZE;
  if (bytes.length < size) {
    throw new FormatError(
      source,
      `truncated: the NIfTI-${version} header needs ${size} bytes, file has ${bytes.length}`,
    );
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, size);
  if (version === 1) {
    const magic = ascii(bytes, 344, 4);
    if (magic === 'ni1') {
      throw new FormatError(
        source,
        "magic 'ni1' marks a header of a .hdr/.img pair; only single-file .nii is read",
      );
    }
    if (magic !== 'n+1') throw new FormatError(source, `wrong magic '${magic}' (expected 'n+1')`);
  } else {
    const magic = ascii(bytes, 4, 4);
    if (magic !== 'n+2') throw new FormatError(source, `wrong magic '${magic}' (expected 'n+2')`);
    // The \r\n\x1a\n tail exists to detect text-mode transfers (nibabel also accepts it all zero).
    const tail = bytes.subarray(8, 12);
    if (!tail.every((b, i) => b === MAGIC2[4 + i]) && !tail.every((b) => b === 0)) {
      throw new FormatError(
        source,
        'NIfTI-2 magic tail is damaged: the file was corrupted by end-of-line conversion',
      );
    }
  }
  const i16 = (o: number) => v.getInt16(o, le);
  const i32 = (o: number) => v.getInt32(o, le);
  const i64 = (o: number) => Number(v.getBigInt64(o, le));
  const f32 = (o: number) => v.getFloat32(o, le);
  const f64 = (o: number) => v.getFloat64(o, le);
  const h1 = version === 1;
  // NIfTI-1 and NIfTI-2 hold the same fields at different offsets and widths.
  const dimAt = (d: number) => (h1 ? i16(40 + 2 * d) : i64(16 + 8 * d));
  const real = h1 ? f32 : f64;
  const pixdimAt = (d: number) => (h1 ? f32(76 + 4 * d) : f64(104 + 8 * d));
  const ndim = dimAt(0);
  if (!(ndim >= 1 && ndim <= 7))
    throw new FormatError(source, `inconsistent dims: dim[0] is ${ndim} (must be 1..7)`);
  const dims: number[] = [];
  for (let d = 1; d <= ndim; d++) dims.push(dimAt(d));
  if (dims.some((d) => !(d >= 1))) {
    throw new FormatError(
      source,
      `inconsistent dims: [${dims.join(', ')}] (every dim[1..dim[0]] must be ≥ 1)`,
    );
  }
  const srowAt = (o: number, step: number) => [
    real(o),
    real(o + step),
    real(o + 2 * step),
    real(o + 3 * step),
  ];
  return {
    version,
    littleEndian: le,
    dims,
    datatype: h1 ? i16(70) : i16(12),
    bitpix: h1 ? i16(72) : i16(14),
    pixdim: Array.from({ length: 8 }, (_, d) => pixdimAt(d)),
    voxOffset: h1 ? Math.floor(f32(108)) : i64(168),
    sclSlope: h1 ? f32(112) : f64(176),
    sclInter: h1 ? f32(116) : f64(184),
    qformCode: h1 ? i16(252) : i32(344),
    sformCode: h1 ? i16(254) : i32(348),
    quatern: h1 ? [f32(256), f32(260), f32(264)] : [f64(352), f64(360), f64(368)],
    qoffset: h1 ? [f32(268), f32(272), f32(276)] : [f64(376), f64(384), f64(392)],
    srow: h1
      ? [srowAt(280, 4), srowAt(296, 4), srowAt(312, 4)]
      : [srowAt(400, 8), srowAt(432, 8), srowAt(464, 8)],
    xyztUnits: h1 ? bytes[123]! : i32(500),
    intentCode: h1 ? i16(68) : i32(504),
    intentParams: h1 ? [f32(56), f32(60), f32(64)] : [f64(80), f64(88), f64(96)],
    intentName: h1 ? ascii(bytes, 328, 16) : ascii(bytes, 508, 16),
    descrip: h1 ? ascii(bytes, 148, 80) : ascii(bytes, 240, 80),
    auxFile: h1 ? ascii(bytes, 228, 24) : ascii(bytes, 320, 24),
    dimInfo: h1 ? bytes[39]! : bytes[524]!,
    sliceStart: h1 ? i16(74) : i64(224),
    sliceEnd: h1 ? i16(120) : i64(232),
    sliceCode: h1 ? bytes[122]! : i32(496),
    sliceDuration: h1 ? f32(132) : f64(208),
    toffset: h1 ? f32(136) : f64(216),
    calMin: h1 ? f32(128) : f64(200),
    calMax: h1 ? f32(124) : f64(192),
  };
}

/** Writes `text` as NUL-padded ASCII into a fixed-width field (truncated to leave a terminating NUL). */
function putAscii(bytes: Uint8Array, at: number, width: number, text: string): void {
  for (let i = 0; i < Math.min(text.length, width - 1); i++) {
    const c = text.charCodeAt(i);
    bytes[at + i] = c < 128 ? c : 0x3f; // '?' for non-ASCII
  }
}

/**
 * Encodes `h` as header bytes followed by the 4-byte extension flag (all zero: no extensions), i.e. 352
 * bytes for NIfTI-1 and 544 for NIfTI-2. `h.voxOffset` must be at least that length.
 */
export function encodeNiftiHeader(h: NiftiHeader): Uint8Array {
  const h1 = h.version === 1;
  const bytes = new Uint8Array(h1 ? NIFTI1_MIN_VOX_OFFSET : NIFTI2_MIN_VOX_OFFSET);
  const v = new DataView(bytes.buffer);
  const le = h.littleEndian;
  const i16 = (o: number, x: number) => v.setInt16(o, x, le);
  const i32 = (o: number, x: number) => v.setInt32(o, x, le);
  const i64 = (o: number, x: number) => v.setBigInt64(o, BigInt(x), le);
  const real = (o: number, x: number) => (h1 ? v.setFloat32(o, x, le) : v.setFloat64(o, x, le));
  /** Writes `values` with `set` at `offset`, `step` bytes apart. */
  const each = (
    set: (o: number, x: number) => void,
    offset: number,
    step: number,
    values: readonly number[],
  ) => {
    for (let k = 0; k < values.length; k++) set(offset + step * k, values[k]!);
  };
  const dim = [h.dims.length, ...h.dims, ...new Array<number>(7 - h.dims.length).fill(1)];
  const qfields = [...h.quatern, ...h.qoffset];
  const srow = h.srow.flatMap((row) => [...row]);
  if (h1) {
    i32(0, NIFTI1_HEADER_SIZE);
    bytes[38] = 0x72; // regular = 'r', as nibabel writes for Analyze compatibility
    bytes[39] = h.dimInfo;
    each(i16, 40, 2, dim);
    each(real, 56, 4, h.intentParams);
    i16(68, h.intentCode);
    i16(70, h.datatype);
    i16(72, h.bitpix);
    i16(74, h.sliceStart);
    each(real, 76, 4, h.pixdim);
    real(108, h.voxOffset);
    real(112, h.sclSlope);
    real(116, h.sclInter);
    i16(120, h.sliceEnd);
    bytes[122] = h.sliceCode;
    bytes[123] = h.xyztUnits;
    real(124, h.calMax);
    real(128, h.calMin);
    real(132, h.sliceDuration);
    real(136, h.toffset);
    putAscii(bytes, 148, 80, h.descrip);
    putAscii(bytes, 228, 24, h.auxFile);
    i16(252, h.qformCode);
    i16(254, h.sformCode);
    each(real, 256, 4, qfields);
    each(real, 280, 4, srow);
    putAscii(bytes, 328, 16, h.intentName);
    bytes.set([0x6e, 0x2b, 0x31, 0x00], 344); // 'n+1\0'
  } else {
    i32(0, NIFTI2_HEADER_SIZE);
    bytes.set(MAGIC2, 4);
    i16(12, h.datatype);
    i16(14, h.bitpix);
    each(i64, 16, 8, dim);
    each(real, 80, 8, h.intentParams);
    each(real, 104, 8, h.pixdim);
    i64(168, h.voxOffset);
    real(176, h.sclSlope);
    real(184, h.sclInter);
    real(192, h.calMax);
    real(200, h.calMin);
    real(208, h.sliceDuration);
    real(216, h.toffset);
    i64(224, h.sliceStart);
    i64(232, h.sliceEnd);
    putAscii(bytes, 240, 80, h.descrip);
    putAscii(bytes, 320, 24, h.auxFile);
    i32(344, h.qformCode);
    i32(348, h.sformCode);
    each(real, 352, 8, qfields);
    each(real, 400, 8, srow);
    i32(496, h.sliceCode);
    i32(500, h.xyztUnits);
    i32(504, h.intentCode);
    putAscii(bytes, 508, 16, h.intentName);
    bytes[524] = h.dimInfo;
  }
  return bytes;
}

function affineFrom(m: Mat3, t: readonly number[]): Affine {
  return [
    [m[0][0], m[0][1], m[0][2], t[0]!],
    [m[1][0], m[1][1], m[1][2], t[1]!],
    [m[2][0], m[2][1], m[2][2], t[2]!],
    [0, 0, 0, 1],
  ];
}

/** The qform affine: rotation from the quaternion, times diag(pixdim[1..3]) with qfac on k, plus qoffset. */
export function qformAffine(h: NiftiHeader, source = 'header'): Affine {
  const [b, c, d] = h.quatern;
  // w from the unit norm; nibabel tolerates a slightly negative w² (float32 rounding) as w = 0.
  const w2 = 1 - (b * b + c * c + d * d);
  if (w2 < -3 * (h.version === 1 ? 2 ** -23 : Number.EPSILON)) {
    throw new FormatError(source, `qform quaternion (${b}, ${c}, ${d}) has norm above 1`);
  }
  const r = quat2mat([w2 > 0 ? Math.sqrt(w2) : 0, b, c, d]);
  const [, sx = 1, sy = 1, sz = 1] = h.pixdim;
  if (sx < 0 || sy < 0 || sz < 0)
    throw new FormatError(source, 'pixdim[1..3] must not be negative for a qform');
  // qfac other than -1 reads as 1: nifti1.h says "if qfac = 0, treat it as 1", nibabel fixes it to 1.
  const qfac = h.pixdim[0] === -1 ? -1 : 1;
  const zooms = [sx, sy, sz * qfac];
  const m: Mat3 = [
    [r[0][0] * zooms[0]!, r[0][1] * zooms[1]!, r[0][2] * zooms[2]!],
    [r[1][0] * zooms[0]!, r[1][1] * zooms[1]!, r[1][2] * zooms[2]!],
    [r[2][0] * zooms[0]!, r[2][1] * zooms[1]!, r[2][2] * zooms[2]!],
  ];
  return affineFrom(m, h.qoffset);
}

/** The sform affine from srow_x/y/z. */
export function sformAffine(h: NiftiHeader): Affine {
  const [x, y, z] = h.srow;
  return affineFrom(
    [
      [x![0]!, x![1]!, x![2]!],
      [y![0]!, y![1]!, y![2]!],
      [z![0]!, z![1]!, z![2]!],
    ],
    [x![3]!, y![3]!, z![3]!],
  );
}

/**
 * The affine used when neither form is set (nibabel `get_base_affine`, Analyze convention): voxel sizes
 * on the diagonal with x flipped, and the origin at the centre of the first three axes.
 */
export function baseAffine(dims: readonly number[], pixdim: readonly number[]): Affine {
  const shape = [0, 1, 2].map((a) => dims[a] ?? 1);
  const zooms = [0, 1, 2].map((a) => (a < dims.length ? pixdim[a + 1]! : 1));
  zooms[0] = -zooms[0]!;
  const t = shape.map((n, a) => (-(n - 1) / 2) * zooms[a]!);
  return affineFrom(
    [
      [zooms[0]!, 0, 0],
      [0, zooms[1]!, 0],
      [0, 0, zooms[2]!],
    ],
    t,
  );
}

/** A NIfTI header's geometry after the checks and repairs of geometry.ts (opening comment). */
export interface NiftiGeometry {
  /** Finite, with a nonsingular 3×3 part. */
  readonly affine: Affine;
  /** All 8 pixdim entries, repaired: pixdim[1..3] finite and positive. */
  readonly pixdim: readonly number[];
  /** One line per repair, for the caller to show (empty when the header needed none). */
  readonly warnings: readonly string[];
}

/**
 * The affine and voxel sizes of `h` by nibabel's precedence (`get_best_affine`: sform if sform_code > 0,
 * else qform if qform_code > 0, else the pixdim fall-back), with the
 * impossible-geometry rules of geometry.ts: non-finite spatial pixdims refused; zero or negative ones, an
 * unusable sform or qform repaired as nibabel does, each with a warning.
 * @throws FormatError naming `source` for a non-finite pixdim[1..3] or a quaternion of norm above 1
 */
export function niftiGeometry(h: NiftiHeader, source: string): NiftiGeometry {
  const warnings: string[] = [];
  const pixdim = [...h.pixdim];
  for (let a = 1; a <= 3; a++) {
    const z = pixdim[a]!;
    if (!Number.isFinite(z)) {
      throw new FormatError(source, `pixdim[${a}] (a voxel size) is ${z}: impossible geometry`);
    }
    if (z === 0) {
      pixdim[a] = 1;
      warnings.push(`pixdim[${a}] is 0; read as 1 (nibabel sets 0 voxel sizes to 1)`);
    } else if (z < 0) {
      pixdim[a] = -z;
      warnings.push(`pixdim[${a}] is ${z}; read as ${-z} (nibabel takes the absolute value)`);
    }
  }
  for (let a = 4; a <= Math.min(h.dims.length, 7); a++) {
    const z = pixdim[a]!;
    if (!(Number.isFinite(z) && z > 0)) {
      pixdim[a] = 1;
      warnings.push(`pixdim[${a}] (the step of axis ${a}) is ${z}; read as 1`);
    }
  }
  const fixed: NiftiHeader = { ...h, pixdim };
  let unset = '';
  if (h.sformCode > 0) {
    const problem = affineProblem(sformAffine(h));
    if (problem === undefined) return { affine: sformAffine(h), pixdim, warnings };
    unset = `the sform (sform_code ${h.sformCode}) ${problem}`;
  }
  if (h.qformCode > 0) {
    const fields = [...h.quatern, ...h.qoffset];
    const problem = fields.every(Number.isFinite)
      ? affineProblem(qformAffine(fixed, source))
      : `has a non-finite quaternion or offset (${fields.join(', ')})`;
    if (problem === undefined) {
      if (unset) warnings.push(`${unset}; using the qform instead`);
      return { affine: qformAffine(fixed, source), pixdim, warnings };
    }
    unset = `${unset ? `${unset}, and ` : ''}the qform (qform_code ${h.qformCode}) ${problem}`;
  }
  if (unset) warnings.push(`${unset}; using the voxel sizes (pixdim) alone, as when no form is set`);
  return { affine: baseAffine(h.dims, pixdim), pixdim, warnings };
}

/** The qform fields that represent `affine`, as nibabel's `set_qform` derives them. */
export interface QformFields {
  readonly quatern: readonly [number, number, number];
  readonly qoffset: readonly [number, number, number];
  readonly qfac: 1 | -1;
  /** pixdim[1..3]: the affine's column lengths. */
  readonly zooms: readonly [number, number, number];
}

/**
 * Splits `affine` into voxel sizes, qfac and a rotation quaternion (nibabel `set_qform`): columns are
 * normalised, a negative determinant flips k (qfac −1), and any shear is dropped by taking the nearest
 * orthonormal matrix — so a sheared affine is only kept exactly by the sform.
 */
export function qformFromAffine(affine: Affine): QformFields {
  const m = linearPart(affine);
  const zooms = voxelSizes(affine);
  // A zero column (degenerate affine) keeps that axis's identity direction.
  const col = (c: number): [number, number, number] =>
    zooms[c] === 0
      ? [c === 0 ? 1 : 0, c === 1 ? 1 : 0, c === 2 ? 1 : 0]
      : [m[0][c] / zooms[c]!, m[1][c] / zooms[c]!, m[2][c] / zooms[c]!];
  const [c0, c1, c2] = [col(0), col(1), col(2)];
  let r: Mat3 = [
    [c0[0], c1[0], c2[0]],
    [c0[1], c1[1], c2[1]],
    [c0[2], c1[2], c2[2]],
  ];
  const det = determinant3(r);
  const qfac = det < 0 ? -1 : 1;
  if (qfac < 0) {
    r = [
      [r[0][0], r[0][1], -r[0][2]],
      [r[1][0], r[1][1], -r[1][2]],
      [r[2][0], r[2][1], -r[2][2]],
    ];
  }
  const rot = Math.abs(det) > 1e-12 ? nearestOrthonormal(r) : r;
  const [, b, c, d] = mat2quat(rot);
  return { quatern: [b, c, d], qoffset: [affine[0][3], affine[1][3], affine[2][3]], qfac, zooms };
}
