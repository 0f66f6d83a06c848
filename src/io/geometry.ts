// Affine geometry helpers on the voxel → RAS+ mm affine of a Volume: products, inverse, voxel sizes,
// orientation codes and rotation ↔ quaternion. Mirrors nibabel's affines.py, orientations.py
// (io_orientation, aff2axcodes) and quaternions.py (quat2mat, mat2quat).
//
// Impossible geometry. A Volume's affine is always finite with a nonsingular 3×3 part (`affineProblem`
// says why one is not; readers refuse or repair, writers refuse), so no reader hands out, and no writer
// stores, a NaN affine or an orientation code for garbage. The NIfTI rules (nifti_header.ts,
// `niftiGeometry`), repairs following nibabel 5 where it has a documented convention, each with a warning:
// - pixdim[1..3] NaN or ±Inf: refused (no convention; nibabel would build a NaN affine).
// - pixdim[1..3] zero → 1, negative → its absolute value: nibabel's header check-and-fix on load
//   (`_chk_pixdims`: "setting 0 dims to 1", "setting to abs of pixdim values"); qfac stays in pixdim[0]
//   (any value but −1 reads as 1, as nifti1.h and nibabel's `_chk_qfac` say), so a flip is kept.
// - sform_code > 0 but the sform non-finite or singular: the sform is treated as unset and nibabel's
//   precedence continues — the qform when qform_code > 0 and it is usable, else the pixdim fall-back.
// - qform_code > 0 but a non-finite quaternion or offset: treated as unset (the pixdim fall-back).
//   A quaternion of norm above 1 stays refused, as nibabel refuses it.
// - pixdim[4..] (time step and beyond) non-finite or ≤ 0 on an existing axis: spacing 1, with a warning.
// The pixdim fall-back (`baseAffine`) of repaired pixdims is always finite and nonsingular.
import { FormatError, MasamError } from '../core/errors.js';
import type { Affine } from './volume.js';

/** A 3×3 matrix, row-major. */
export type Mat3 = readonly [
  readonly [number, number, number],
  readonly [number, number, number],
  readonly [number, number, number],
];

/** A unit quaternion [w, x, y, z] (w is the scalar part). */
export type Quaternion = readonly [number, number, number, number];

type Row4 = [number, number, number, number];
type Row3 = [number, number, number];

/** Checks and copies a 4×4 (or 3×4, bottom row implied) nested array into an Affine. */
export function toAffine(rows: readonly (readonly number[])[]): Affine {
  const ok = (rows.length === 4 || rows.length === 3) && rows.every((r) => r.length === 4);
  if (!ok) throw new MasamError(`toAffine: expected 4×4 or 3×4 rows, got ${JSON.stringify(rows)}`);
  const row = (i: number): Row4 => [rows[i]![0]!, rows[i]![1]!, rows[i]![2]!, rows[i]![3]!];
  return [row(0), row(1), row(2), rows.length === 4 ? row(3) : [0, 0, 0, 1]];
}

/** The matrix product a·b of two affines (apply b first, then a). */
export function multiplyAffines(a: Affine, b: Affine): Affine {
  const out: Row4[] = [];
  for (let r = 0; r < 4; r++) {
    const row: Row4 = [0, 0, 0, 0];
    for (let c = 0; c < 4; c++) {
      row[c] = a[r][0] * b[0][c] + a[r][1] * b[1][c] + a[r][2] * b[2][c] + a[r][3] * b[3][c];
    }
    out.push(row);
  }
  return [out[0]!, out[1]!, out[2]!, out[3]!];
}

/** The upper-left 3×3 block (rotation · zooms · shear) of an affine. */
export function linearPart(affine: Affine): Mat3 {
  return [
    [affine[0][0], affine[0][1], affine[0][2]],
    [affine[1][0], affine[1][1], affine[1][2]],
    [affine[2][0], affine[2][1], affine[2][2]],
  ];
}

/** Determinant of a 3×3 matrix (negative for a left-handed voxel frame). */
export function determinant3(m: Mat3): number {
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}

/** Inverse of a 3×3 matrix; throws on a singular one. */
export function invert3(m: Mat3): Mat3 {
  const det = determinant3(m);
  if (!Number.isFinite(det) || det === 0) throw new MasamError('invert3: matrix is singular');
  const c = (r0: number, c0: number, r1: number, c1: number): number =>
    (m[r0]![c0]! * m[r1]![c1]! - m[r0]![c1]! * m[r1]![c0]!) / det;
  return [
    [c(1, 1, 2, 2), c(0, 2, 2, 1), c(0, 1, 1, 2)],
    [c(1, 2, 2, 0), c(0, 0, 2, 2), c(0, 2, 1, 0)],
    [c(1, 0, 2, 1), c(0, 1, 2, 0), c(0, 0, 1, 1)],
  ];
}

/** Inverse of an affine (world → voxel); throws MasamError when its 3×3 part is singular. */
export function invertAffine(affine: Affine): Affine {
  const inv = invert3(linearPart(affine));
  const t = [affine[0][3], affine[1][3], affine[2][3]] as const;
  const row = (r: number): Row4 => {
    const m = inv[r]!;
    return [m[0], m[1], m[2], -(m[0] * t[0] + m[1] * t[1] + m[2] * t[2])];
  };
  return [row(0), row(1), row(2), [0, 0, 0, 1]];
}

/** Maps a voxel index (i, j, k) to world coordinates (x, y, z) through `affine`. */
export function applyAffine(affine: Affine, ijk: readonly number[]): [number, number, number] {
  const [i = 0, j = 0, k = 0] = ijk;
  const out: Row3 = [0, 0, 0];
  for (let r = 0; r < 3; r++)
    out[r] = affine[r]![0] * i + affine[r]![1] * j + affine[r]![2] * k + affine[r]![3];
  return out;
}

/** Voxel sizes in mm: the length of each column of the 3×3 part (nibabel `voxel_sizes`). */
export function voxelSizes(affine: Affine): [number, number, number] {
  const out: Row3 = [0, 0, 0];
  for (let c = 0; c < 3; c++) out[c] = Math.hypot(affine[0][c], affine[1][c], affine[2][c]);
  return out;
}

/** Largest absolute element-wise difference between two affines. */
export function affineMaxDiff(a: Affine, b: Affine): number {
  let d = 0;
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) d = Math.max(d, Math.abs(a[r]![c]! - b[r]![c]!));
  return d;
}

/**
 * Why `affine` cannot map voxels to the world — a non-finite entry, a zero voxel axis, or a singular 3×3
 * part (its axes, normalised, span less than 1e-6 of a unit cube) — or undefined when it can.
 */
export function affineProblem(affine: Affine): string | undefined {
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 4; c++) {
      const v = affine[r]![c]!;
      if (!Number.isFinite(v)) return `has a non-finite entry (${v} at row ${r}, column ${c})`;
    }
  }
  const [a, b, c] = voxelSizes(affine);
  if (a === 0 || b === 0 || c === 0) return 'has a zero voxel axis (a zero column)';
  const volume = Math.abs(determinant3(linearPart(affine))) / (a * b * c);
  if (!(volume > 1e-6)) return 'is singular (its voxel axes are linearly dependent)';
  return undefined;
}

/**
 * Returns `affine` when it is usable (affineProblem), else refuses it.
 * @throws FormatError naming `source` and the problem
 */
export function checkAffine(affine: Affine, source: string, what = 'affine'): Affine {
  const problem = affineProblem(affine);
  if (problem !== undefined) throw new FormatError(source, `${what} ${problem}: impossible geometry`);
  return affine;
}

/**
 * The orthonormal matrix closest to `m` (its polar factor; nibabel gets it from an SVD as P·Qᵀ).
 * Newton's iteration X ← (X + X⁻ᵀ)/2 converges quadratically for any nonsingular `m`.
 */
export function nearestOrthonormal(m: Mat3): Mat3 {
  let x: Mat3 = m;
  for (let iter = 0; iter < 100; iter++) {
    const inv = invert3(x);
    const next: Mat3 = [
      [(x[0][0] + inv[0][0]) / 2, (x[0][1] + inv[1][0]) / 2, (x[0][2] + inv[2][0]) / 2],
      [(x[1][0] + inv[0][1]) / 2, (x[1][1] + inv[1][1]) / 2, (x[1][2] + inv[2][1]) / 2],
      [(x[2][0] + inv[0][2]) / 2, (x[2][1] + inv[1][2]) / 2, (x[2][2] + inv[2][2]) / 2],
    ];
    let change = 0;
    for (let r = 0; r < 3; r++)
      for (let c = 0; c < 3; c++) change = Math.max(change, Math.abs(next[r]![c]! - x[r]![c]!));
    x = next;
    if (change < 1e-15) break;
  }
  return x;
}

/**
 * For each voxel axis, the world axis it runs along most (0 = x/R, 1 = y/A, 2 = z/S) and its sign,
 * as nibabel's `io_orientation`: columns are normalised, the nearest orthonormal matrix is taken, and
 * axes are chosen greedily so that no world axis is used twice. A zero column gives null.
 */
export function ioOrientation(affine: Affine): ([number, 1 | -1] | null)[] {
  const m = linearPart(affine);
  const zooms = voxelSizes(affine).map((z) => (z === 0 ? 1 : z));
  const rs: Mat3 = [
    [m[0][0] / zooms[0]!, m[0][1] / zooms[1]!, m[0][2] / zooms[2]!],
    [m[1][0] / zooms[0]!, m[1][1] / zooms[1]!, m[1][2] / zooms[2]!],
    [m[2][0] / zooms[0]!, m[2][1] / zooms[1]!, m[2][2] / zooms[2]!],
  ];
  // A rank-deficient matrix has no polar factor; the greedy pick below still works on it directly.
  const det = determinant3(rs);
  const r = (Number.isFinite(det) && Math.abs(det) > 1e-12 ? nearestOrthonormal(rs) : rs).map((row) => [
    ...row,
  ]);
  const out: ([number, 1 | -1] | null)[] = [];
  for (let inAx = 0; inAx < 3; inAx++) {
    const col = [r[0]![inAx]!, r[1]![inAx]!, r[2]![inAx]!];
    if (col.every((v) => Math.abs(v) <= 1e-8)) {
      out.push(null);
      continue;
    }
    let outAx = 0;
    for (let k = 1; k < 3; k++) if (Math.abs(col[k]!) > Math.abs(col[outAx]!)) outAx = k;
    out.push([outAx, col[outAx]! < 0 ? -1 : 1]);
    r[outAx] = [0, 0, 0]; // this world axis is taken
  }
  return out;
}

const AXIS_LABELS = [
  ['L', 'R'],
  ['P', 'A'],
  ['I', 'S'],
] as const;

/**
 * Orientation code of the voxel axes, e.g. 'RAS' (i → Right, j → Anterior, k → Superior) or 'LPS'
 * (DICOM's patient frame) — nibabel's `aff2axcodes`. Each letter is where that axis points to; an axis
 * with no direction (zero column) is '?'.
 */
export function aff2axcodes(affine: Affine): string {
  // Garbage has no orientation (NaN compares false everywhere, which would read as 'R', 'A', 'S').
  if (linearPart(affine).some((row) => row.some((v) => !Number.isFinite(v)))) return '???';
  return ioOrientation(affine)
    .map((o) => (o === null ? '?' : AXIS_LABELS[o[0]]![o[1] > 0 ? 1 : 0]))
    .join('');
}

/**
 * Rotation matrix of a quaternion [w, x, y, z] (nibabel `quat2mat`); a non-unit quaternion is
 * normalised, a (near) zero one gives the identity.
 */
export function quat2mat(q: Quaternion): Mat3 {
  const [w, x, y, z] = q;
  const nq = w * w + x * x + y * y + z * z;
  if (nq < Number.EPSILON) {
    return [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
  }
  const s = 2 / nq;
  const [X, Y, Z] = [x * s, y * s, z * s];
  const [wX, wY, wZ] = [w * X, w * Y, w * Z];
  const [xX, xY, xZ] = [x * X, x * Y, x * Z];
  const [yY, yZ, zZ] = [y * Y, y * Z, z * Z];
  return [
    [1 - (yY + zZ), xY - wZ, xZ + wY],
    [xY + wZ, 1 - (xX + zZ), yZ - wX],
    [xZ - wY, yZ + wX, 1 - (xX + yY)],
  ];
}

/**
 * Unit quaternion [w, x, y, z] with w ≥ 0 of a proper rotation matrix (determinant +1), by Shepperd's
 * method: it divides by the largest of the four candidate magnitudes, so it stays accurate near 180°.
 */
export function mat2quat(m: Mat3): Quaternion {
  const tr = m[0][0] + m[1][1] + m[2][2];
  let q: [number, number, number, number];
  if (tr >= m[0][0] && tr >= m[1][1] && tr >= m[2][2]) {
    const s = 2 * Math.sqrt(Math.max(0, 1 + tr)); // s = 4w
    q = [s / 4, (m[2][1] - m[1][2]) / s, (m[0][2] - m[2][0]) / s, (m[1][0] - m[0][1]) / s];
  } else if (m[0][0] >= m[1][1] && m[0][0] >= m[2][2]) {
    const s = 2 * Math.sqrt(Math.max(0, 1 + m[0][0] - m[1][1] - m[2][2])); // s = 4x
    q = [(m[2][1] - m[1][2]) / s, s / 4, (m[0][1] + m[1][0]) / s, (m[0][2] + m[2][0]) / s];
  } else if (m[1][1] >= m[2][2]) {
    const s = 2 * Math.sqrt(Math.max(0, 1 - m[0][0] + m[1][1] - m[2][2])); // s = 4y
    q = [(m[0][2] - m[2][0]) / s, (m[0][1] + m[1][0]) / s, s / 4, (m[1][2] + m[2][1]) / s];
  } else {
    const s = 2 * Math.sqrt(Math.max(0, 1 - m[0][0] - m[1][1] + m[2][2])); // s = 4z
    q = [(m[1][0] - m[0][1]) / s, (m[0][2] + m[2][0]) / s, (m[1][2] + m[2][1]) / s, s / 4];
  }
  const norm = Math.hypot(...q);
  const sign = q[0] < 0 ? -1 : 1; // q and −q are the same rotation; NIfTI stores the one with w ≥ 0
  return [(sign * q[0]) / norm, (sign * q[1]) / norm, (sign * q[2]) / norm, (sign * q[3]) / norm];
}
