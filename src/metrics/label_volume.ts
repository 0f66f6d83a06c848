// Label volumes as metrics/ sees them: integer labels on a grid, index i fastest (the io/volume.ts layout),
// plus the grid checks shared by dice.ts, surface.ts and report.ts. Host arrays only, no io/ import.
import { MasamError } from '../core/errors.js';
import { formatShape, numel, shapesEqual } from '../core/shape.js';

/** Typed arrays accepted as label maps or binary masks. */
export type LabelArray = Uint8Array | Int16Array | Int32Array;

/**
 * A label map (or binary mask) on a 1D–3D grid.
 *
 * Layout: index i fastest, as in io's `Volume` (NIfTI order): element (i, j, k) sits at
 * `i + nx·(j + ny·k)` for `shape = [nx, ny, nz]`, and `spacing = [sx, sy, sz]` is the voxel size in mm
 * along i, j, k (default 1 mm). A C-order `[z][y][x]` buffer is the same bytes with `shape` reversed.
 * An io `Volume` of an integer dtype satisfies this interface as it is.
 */
export interface LabelVolume {
  readonly data: LabelArray;
  readonly shape: readonly number[];
  readonly spacing?: readonly number[];
}

/** Shape and spacing shared by a pair of volumes, validated. */
export interface Grid {
  readonly shape: readonly number[];
  readonly spacing: readonly number[];
}

/**
 * The common grid of `pred` and `gt`: same shape (rank 1–3, data filling it), spacing taken from
 * whichever declares it (they must agree when both do; 1 mm per axis when neither does).
 * Throws a `MasamError` naming `op` and both shapes otherwise.
 */
export function pairGrid(op: string, pred: LabelVolume, gt: LabelVolume): Grid {
  const shapes = `pred ${formatShape(pred.shape)}, gt ${formatShape(gt.shape)}`;
  if (!shapesEqual(pred.shape, gt.shape)) throw new MasamError(`${op}: shapes differ (${shapes})`);
  const g = gridOf(op, gt);
  gridOf(op, pred);
  if (pred.spacing && gt.spacing && !shapesEqual(pred.spacing, gt.spacing)) {
    throw new MasamError(
      `${op}: spacings differ (pred ${formatShape(pred.spacing)}, gt ${formatShape(gt.spacing)} mm)`,
    );
  }
  return pred.spacing && !gt.spacing ? { shape: g.shape, spacing: [...pred.spacing] } : g;
}

/** The grid of one volume, validated (rank 1–3, positive integer sizes, positive finite spacing). */
export function gridOf(op: string, v: LabelVolume): Grid {
  const { shape } = v;
  if (shape.length < 1 || shape.length > 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new MasamError(`${op}: shape ${formatShape(shape)} must have 1 to 3 positive integer sizes`);
  }
  if (v.data.length !== numel(shape)) {
    throw new MasamError(`${op}: ${v.data.length} elements do not fill shape ${formatShape(shape)}`);
  }
  const spacing = v.spacing ? [...v.spacing] : shape.map(() => 1);
  if (spacing.length !== shape.length || !spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new MasamError(
      `${op}: spacing ${formatShape(spacing)} mm must give one positive size per axis of ${formatShape(shape)}`,
    );
  }
  return { shape: [...shape], spacing };
}

/**
 * Class ids to score: a number C means 1..C (background 0 excluded, as in the official evaluation);
 * a list is taken as given. Ids must be non-negative integers.
 */
export function classList(op: string, classes: number | readonly number[]): number[] {
  const list = typeof classes === 'number' ? Array.from({ length: classes }, (_, i) => i + 1) : [...classes];
  for (const c of list) {
    if (!Number.isInteger(c) || c < 0)
      throw new MasamError(`${op}: class id ${c} is not a non-negative integer`);
  }
  return list;
}

/** A binary mask (1 where `labels` equals `label`, else 0) on the same grid. */
export function binaryMask(labels: LabelVolume, label: number): LabelVolume {
  const src = labels.data;
  const data = new Uint8Array(src.length);
  for (let p = 0; p < src.length; p++) data[p] = src[p] === label ? 1 : 0;
  return labels.spacing
    ? { data, shape: [...labels.shape], spacing: [...labels.spacing] }
    : { data, shape: [...labels.shape] };
}
