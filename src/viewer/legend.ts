// Label colours, the niivue label colour map and per-class voxel counts for the viewer's overlay and
// legend. Pure functions over plain arrays, so tests check them in Node.

import { LABEL_COLOURS } from '../infer/overlay.js';

/** An RGB colour, 0–255 per channel. */
export type Rgb = readonly [number, number, number];

/** The colour of label `value` (black for the background). */
export function labelColor(value: number): Rgb {
  if (value <= 0) return [0, 0, 0];
  return LABEL_COLOURS[(value - 1) % LABEL_COLOURS.length]!;
}

/** niivue's label colour map: one entry per label value, names shown when hovering a voxel. */
export interface LabelColorMap {
  R: number[];
  G: number[];
  B: number[];
  A: number[];
  I: number[];
  labels: string[];
}

/**
 * The colour map of a model's classes for niivue's `setColormapLabel`: background transparent, every class
 * opaque (the overlay's opacity is set on the volume). `hidden` lists label values drawn transparent.
 */
export function labelColorMap(
  classNames: readonly string[],
  hidden: ReadonlySet<number> = new Set(),
): LabelColorMap {
  const cm: LabelColorMap = { R: [], G: [], B: [], A: [], I: [], labels: [] };
  classNames.forEach((name, value) => {
    const [r, g, b] = labelColor(value);
    cm.R.push(r);
    cm.G.push(g);
    cm.B.push(b);
    cm.A.push(value === 0 || hidden.has(value) ? 0 : 255);
    cm.I.push(value);
    cm.labels.push(name);
  });
  return cm;
}

/** Voxels per label value 0..numLabels−1; values outside that range are counted at the end of `other`. */
export function countLabels(data: ArrayLike<number>, numLabels: number): number[] {
  const counts = new Array<number>(numLabels).fill(0);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v >= 0 && v < numLabels) counts[v]!++;
  }
  return counts;
}

/** A volume in mm³ as a short human string: mm³ below 1 mL, mL below 1 L, else L (3 significant digits). */
export function formatVolume(mm3: number): string {
  if (mm3 < 1000) return `${mm3.toFixed(0)} mm³`;
  const ml = mm3 / 1000;
  if (ml >= 1000) return `${Number((ml / 1000).toPrecision(3))} L`;
  return `${ml < 10 ? ml.toFixed(2) : ml < 100 ? ml.toFixed(1) : ml.toFixed(0)} mL`;
}

/** `#rrggbb` of a colour, for CSS. */
export function cssColor([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}
