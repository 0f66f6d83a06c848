// DICOM slices of one series → Volume: order along the slice normal (PS3.3 C.7.6.2.1.1, not InstanceNumber),
// check that the slices share one grid, apply the modality LUT (rescale → HU for CT), and build the voxel → RAS
// affine from ImageOrientationPatient/ImagePositionPatient/PixelSpacing (LPS → RAS = diag(-1, -1, 1)).
import { FormatError } from '../core/errors.js';
import type { DicomSlice, Vec3 } from './dicom.js';
import type { DicomSeriesInfo } from './dicom_seg.js';
import type { Affine, Volume } from './volume.js';

/** Slices that share one SeriesInstanceUID ('' for slices without one). */
export interface DicomSeries {
  readonly seriesInstanceUID: string;
  readonly slices: readonly DicomSlice[];
}

/** Relative tolerance on the step between neighbouring slices (1 % of the mean step). */
export const SLICE_STEP_TOLERANCE = 0.01;
/** Tolerance on direction cosines, and (relative) on pixel spacing, between slices of one series. */
const GRID_TOLERANCE = 1e-4;
/** Two slices closer than this along the normal (mm) occupy the same position. */
const SAME_POSITION_MM = 1e-3;

/**
 * Split slices by SeriesInstanceUID, largest series first (ties: by UID). The CLI uses it to pick a series
 * out of a folder that holds several (e.g. a scout and the axial series); `dicomSeriesToVolume` refuses mixes.
 */
export function groupDicomSeries(slices: readonly DicomSlice[]): DicomSeries[] {
  const groups = new Map<string, DicomSlice[]>();
  for (const s of slices) {
    const uid = s.seriesInstanceUID ?? '';
    const list = groups.get(uid);
    if (list) list.push(s);
    else groups.set(uid, [s]);
  }
  return [...groups]
    .map(([seriesInstanceUID, list]) => ({ seriesInstanceUID, slices: list }))
    .sort(
      (a, b) => b.slices.length - a.slices.length || (a.seriesInstanceUID < b.seriesInstanceUID ? -1 : 1),
    );
}

const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const norm = (a: Vec3): number => Math.sqrt(dot(a, a));
const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
const cross = (a: Vec3, b: Vec3): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];
const fmt = (v: readonly number[]): string => `[${v.map((x) => +x.toFixed(4)).join(', ')}]`;

const DEFAULT_IOP = [1, 0, 0, 0, 1, 0] as const;
const ORIGIN: Vec3 = [0, 0, 0];

interface Geometry {
  /** Slices in volume order (k = 0 first). */
  readonly sorted: readonly DicomSlice[];
  /** Unit direction of increasing column index i (a row), LPS. */
  readonly rowDir: Vec3;
  /** Unit direction of increasing row index j (a column), LPS. */
  readonly colDir: Vec3;
  /** Step from slice k to slice k + 1, LPS mm (includes any gantry-tilt shear). */
  readonly step: Vec3;
  readonly origin: Vec3;
}

/** Every slice must share the first one's rows, columns, orientation and pixel spacing. */
function checkSameGrid(slices: readonly DicomSlice[], source: string): void {
  const ref = slices[0]!;
  const refIop = ref.imageOrientationPatient ?? DEFAULT_IOP;
  const close = (a: number, b: number, rel: boolean) =>
    Math.abs(a - b) <= GRID_TOLERANCE * (rel ? Math.max(1, Math.abs(a)) : 1);
  for (const s of slices) {
    const differs = (what: string, a: string, b: string) =>
      new FormatError(source, `${s.source}: ${what} ${b} differs from ${a} in ${ref.source}`);
    if (s.rows !== ref.rows || s.columns !== ref.columns) {
      throw differs('rows × columns', `${ref.rows} × ${ref.columns}`, `${s.rows} × ${s.columns}`);
    }
    const iop = s.imageOrientationPatient ?? DEFAULT_IOP;
    if (iop.some((v, i) => !close(v, refIop[i]!, false))) {
      throw differs('ImageOrientationPatient', fmt(refIop), fmt(iop));
    }
    const a = ref.pixelSpacing;
    const b = s.pixelSpacing;
    if (
      (a === undefined) !== (b === undefined) ||
      (a && b && (!close(a[0], b[0], true) || !close(a[1], b[1], true)))
    ) {
      throw differs('PixelSpacing', a ? fmt(a) : 'none', b ? fmt(b) : 'none');
    }
  }
}

function orientation(s: DicomSlice, source: string): { rowDir: Vec3; colDir: Vec3; normal: Vec3 } {
  const iop = s.imageOrientationPatient ?? DEFAULT_IOP;
  const rowDir: Vec3 = [iop[0], iop[1], iop[2]];
  const colDir: Vec3 = [iop[3], iop[4], iop[5]];
  if (
    Math.abs(norm(rowDir) - 1) > 1e-3 ||
    Math.abs(norm(colDir) - 1) > 1e-3 ||
    Math.abs(dot(rowDir, colDir)) > 1e-3
  ) {
    throw new FormatError(
      source,
      `${s.source}: ImageOrientationPatient ${fmt(iop)} is not two orthonormal vectors`,
    );
  }
  return { rowDir, colDir, normal: cross(rowDir, colDir) };
}

/** Sort by position along the normal and derive a uniform step; refuse duplicates and uneven gaps. */
function sliceGeometry(slices: readonly DicomSlice[], source: string): Geometry {
  const { rowDir, colDir, normal } = orientation(slices[0]!, source);
  if (slices.length === 1) {
    const s = slices[0]!;
    const thickness = s.spacingBetweenSlices ?? s.sliceThickness ?? 1;
    const step = scale(normal, thickness > 0 ? thickness : 1);
    return { sorted: slices, rowDir, colDir, step, origin: s.imagePositionPatient ?? ORIGIN };
  }
  for (const s of slices) {
    if (!s.imagePositionPatient || !s.imageOrientationPatient) {
      throw new FormatError(
        source,
        `${s.source}: no ImagePositionPatient/ImageOrientationPatient, so the slices cannot be ordered in space`,
      );
    }
  }
  const pos = (s: DicomSlice): Vec3 => s.imagePositionPatient!;
  const sorted = [...slices].sort((a, b) => dot(pos(a), normal) - dot(pos(b), normal));
  const n = sorted.length;
  const first = pos(sorted[0]!);
  const step = scale(sub(pos(sorted[n - 1]!), first), 1 / (n - 1));
  const stepLength = norm(step);
  for (let k = 0; k + 1 < n; k++) {
    const a = sorted[k]!;
    const b = sorted[k + 1]!;
    if (dot(sub(pos(b), pos(a)), normal) < SAME_POSITION_MM) {
      throw new FormatError(
        source,
        `${a.source} and ${b.source} lie at the same position along the slice normal ` +
          '(duplicate files, or several acquisitions such as echoes or time points in one series)',
      );
    }
  }
  for (let k = 0; k + 1 < n; k++) {
    const a = sorted[k]!;
    const b = sorted[k + 1]!;
    const gap = sub(pos(b), pos(a));
    if (norm(sub(gap, step)) > SLICE_STEP_TOLERANCE * stepLength) {
      throw new FormatError(
        source,
        `slice spacing is not uniform: ${a.source} → ${b.source} steps ${norm(gap).toFixed(4)} mm ${fmt(gap)}, ` +
          `the series averages ${stepLength.toFixed(4)} mm ${fmt(step)} (missing slices?)`,
      );
    }
  }
  return { sorted, rowDir, colDir, step, origin: first };
}

/** Int16 when every slope/intercept is an integer and all values fit; float32 otherwise. */
function chooseDtype(slices: readonly DicomSlice[]): 'int16' | 'float32' {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const s of slices) {
    if (!Number.isInteger(s.rescaleSlope) || !Number.isInteger(s.rescaleIntercept)) return 'float32';
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const v of s.pixels) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const a = s.rescaleSlope * min + s.rescaleIntercept;
    const b = s.rescaleSlope * max + s.rescaleIntercept;
    lo = Math.min(lo, a, b);
    hi = Math.max(hi, a, b);
  }
  return lo >= -32768 && hi <= 32767 ? 'int16' : 'float32';
}

/**
 * Assemble the slices of one series into a Volume of physical values (Hounsfield units for CT).
 *
 * - Order: by ImagePositionPatient projected on the slice normal (row cosines × column cosines), ascending;
 *   InstanceNumber is ignored. Shape [nx, ny, nz] = [Columns, Rows, slices], i fastest, so each slice's
 *   row-major pixels are one contiguous k-plane.
 * - Checks: one SeriesInstanceUID (mixed folders are refused; pick one with `groupDicomSeries`), equal
 *   rows/columns/orientation/pixel spacing (the error names the offending file), no two slices at one
 *   position, and a uniform step (each neighbour step within 1 % of the mean step; gaps are refused, since an
 *   affine cannot describe them).
 * - Values: RescaleSlope · stored + RescaleIntercept per slice. dtype is int16 when every slope and intercept is
 *   an integer and every value fits in int16 (typical CT), float32 otherwise.
 * - MONOCHROME1 is not inverted: it only tells a display to map low values to white, and inverting would
 *   break physical units. `source.header.photometricInterpretation` keeps it for viewers.
 * - Geometry: affine columns are rowDir · column spacing, colDir · row spacing, the mean slice step (gantry
 *   tilt gives a sheared affine) and the first slice's position, converted LPS → RAS. A single slice steps
 *   along the normal by SpacingBetweenSlices, else SliceThickness, else 1 mm; missing orientation, position or
 *   pixel spacing default to identity, origin and 1 mm (single slices only).
 * - Source: `header` holds the UIDs and modality (no patient data); `dicom` holds what a DICOM-SEG writer
 *   needs (per-slice SOP UIDs and positions in k order, the patient and study attributes; dicom_seg.ts).
 * @param slices parsed files of one series, in any order
 * @param source a name for messages (the folder)
 * @throws FormatError for an empty list, mixed series, inconsistent or unevenly spaced slices
 */
export function dicomSeriesToVolume(slices: readonly DicomSlice[], source: string): Volume {
  if (slices.length === 0) throw new FormatError(source, 'no DICOM slices');
  const groups = groupDicomSeries(slices);
  if (groups.length > 1) {
    const list = groups
      .map(
        (g) =>
          `${g.seriesInstanceUID || '(no UID)'}: ${g.slices.length} file(s), e.g. ${g.slices[0]!.source}`,
      )
      .join('; ');
    throw new FormatError(source, `holds ${groups.length} series (${list}); read one series at a time`);
  }
  checkSameGrid(slices, source);
  const { sorted, rowDir, colDir, step, origin } = sliceGeometry(slices, source);
  const ref = sorted[0]!;
  const [rowSpacing, colSpacing] = ref.pixelSpacing ?? [1, 1];
  const nx = ref.columns;
  const ny = ref.rows;
  const plane = nx * ny;

  const dtype = chooseDtype(sorted);
  const data =
    dtype === 'int16' ? new Int16Array(plane * sorted.length) : new Float32Array(plane * sorted.length);
  sorted.forEach((s, k) => {
    const { rescaleSlope: m, rescaleIntercept: b, pixels } = s;
    for (let p = 0; p < plane; p++) data[k * plane + p] = m * pixels[p]! + b;
  });

  // LPS affine columns: i → rowDir · Δcol, j → colDir · Δrow, k → step; RAS negates the x and y rows.
  const ci = scale(rowDir, colSpacing);
  const cj = scale(colDir, rowSpacing);
  const flip = [-1, -1, 1];
  const ras = (v: number, r: 0 | 1 | 2) => v * flip[r]! + 0; // + 0: no -0 entries
  const row = (r: 0 | 1 | 2) => [ras(ci[r], r), ras(cj[r], r), ras(step[r], r), ras(origin[r], r)] as const;
  const affine: Affine = [row(0), row(1), row(2), [0, 0, 0, 1]];

  const header: Record<string, unknown> = {
    modality: ref.modality,
    studyInstanceUID: ref.studyInstanceUID,
    seriesInstanceUID: ref.seriesInstanceUID,
    frameOfReferenceUID: ref.frameOfReferenceUID,
    sopClassUID: ref.sopClassUID,
    sopInstanceUIDs: sorted.map((s) => s.sopInstanceUID ?? ''),
    photometricInterpretation: ref.photometricInterpretation,
  };
  for (const key of Object.keys(header)) if (header[key] === undefined) delete header[key];
  const dicom: DicomSeriesInfo = {
    source,
    rows: ny,
    columns: nx,
    slices: sorted.map((s) => ({
      source: s.source,
      sopClassUID: s.sopClassUID,
      sopInstanceUID: s.sopInstanceUID,
      imagePositionPatient: s.imagePositionPatient ?? origin,
    })),
    imageOrientationPatient: ref.imageOrientationPatient ?? DEFAULT_IOP,
    pixelSpacing: [rowSpacing, colSpacing],
    sliceStep: step,
    sliceThickness: ref.sliceThickness,
    studyInstanceUID: ref.studyInstanceUID,
    seriesInstanceUID: ref.seriesInstanceUID,
    frameOfReferenceUID: ref.frameOfReferenceUID,
    modality: ref.modality,
    specificCharacterSet: ref.specificCharacterSet,
    study: ref.studyAttributes ?? {},
  };
  return {
    data,
    dtype,
    shape: [nx, ny, sorted.length],
    spacing: [colSpacing, rowSpacing, norm(step)],
    affine,
    source: { format: 'dicom', header, dicom },
  };
}
