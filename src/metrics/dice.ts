// Overlap metrics on host label volumes: plain Dice and IoU of binary masks, and Dice per class with the
// official empty-mask table of masam-spec §10.3 (utils.calculate_metric_percase).
import { type LabelVolume, classList, pairGrid } from './label_volume.js';

/** Voxel counts of one class: |A| (pred), |G| (gt) and |A∩G|. */
export interface OverlapCounts {
  readonly pred: number;
  readonly gt: number;
  readonly intersection: number;
}

/** Voxel counts of the binary masks `pred != 0` and `gt != 0`. */
export function overlapCounts(pred: LabelVolume, gt: LabelVolume): OverlapCounts {
  pairGrid('overlapCounts', pred, gt);
  const a = pred.data;
  const g = gt.data;
  let np = 0;
  let ng = 0;
  let ni = 0;
  for (let p = 0; p < a.length; p++) {
    const inA = a[p] !== 0;
    const inG = g[p] !== 0;
    if (inA) np++;
    if (inG) ng++;
    if (inA && inG) ni++;
  }
  return { pred: np, gt: ng, intersection: ni };
}

/**
 * Plain Dice `2|A∩G| / (|A| + |G|)` of the binary masks `pred != 0` and `gt != 0`.
 * Returns NaN when both masks are empty (0/0: undefined); use {@link dicePerClass} for the official
 * convention, which scores that case 1.
 */
export function dice(pred: LabelVolume, gt: LabelVolume): number {
  const c = overlapCounts(pred, gt);
  return (2 * c.intersection) / (c.pred + c.gt);
}

/**
 * Plain IoU (Jaccard) `|A∩G| / |A∪G|` of the binary masks `pred != 0` and `gt != 0`.
 * Returns NaN when both masks are empty (0/0: undefined).
 */
export function iou(pred: LabelVolume, gt: LabelVolume): number {
  const c = overlapCounts(pred, gt);
  return c.intersection / (c.pred + c.gt - c.intersection);
}

/**
 * Counts for each class in `classes` (a number C means 1..C) from one pass over both label maps:
 * `A = (pred == c)`, `G = (gt == c)`. Labels outside the listed classes are ignored.
 */
export function classOverlapCounts(
  pred: LabelVolume,
  gt: LabelVolume,
  classes: number | readonly number[],
): OverlapCounts[] {
  pairGrid('classOverlapCounts', pred, gt);
  const list = classList('classOverlapCounts', classes);
  const maxClass = Math.max(-1, ...list);
  // Dense counters indexed by label value: one pass serves every class.
  const cp = new Float64Array(maxClass + 1);
  const cg = new Float64Array(maxClass + 1);
  const ci = new Float64Array(maxClass + 1);
  const a = pred.data;
  const g = gt.data;
  for (let p = 0; p < a.length; p++) {
    const la = a[p]!;
    const lg = g[p]!;
    const aIn = la >= 0 && la <= maxClass;
    if (aIn) cp[la]++;
    if (lg >= 0 && lg <= maxClass) cg[lg]++;
    if (aIn && la === lg) ci[la]++;
  }
  return list.map((c) => ({ pred: cp[c]!, gt: cg[c]!, intersection: ci[c]! }));
}

/**
 * Dice from counts with the official empty-mask table (masam-spec §10.3):
 *
 * | A | G | Dice |
 * |---|---|---|
 * | non-empty | non-empty | `2|A∩G| / (|A| + |G|)` (MedPy `dc`) |
 * | non-empty | empty | 0 |
 * | empty | non-empty | 0 |
 * | empty | empty | **1** |
 *
 * The result is therefore never NaN.
 */
export function officialDice(c: OverlapCounts): number {
  // Both empty: nothing to find and nothing predicted counts as perfect in the official code.
  if (c.pred === 0 && c.gt === 0) return 1;
  return (2 * c.intersection) / (c.pred + c.gt);
}

/**
 * Dice per class on whole label volumes, as the official evaluation computes it (masam-spec §10.3):
 * for each class c, `A = (pred == c)` and `G = (gt == c)`, scored with {@link officialDice}
 * (both empty → 1, exactly one empty → 0). `classes`: a number C means 1..C, or an explicit id list.
 *
 * @example
 * dicePerClass({ data: pred, shape: [nx, ny, nz] }, { data: gt, shape: [nx, ny, nz] }, 13) // 13 values
 */
export function dicePerClass(
  pred: LabelVolume,
  gt: LabelVolume,
  classes: number | readonly number[],
): number[] {
  return classOverlapCounts(pred, gt, classes).map(officialDice);
}
