// Box and point prompts of the box-prompted MA-SAM variant (masam-spec §11, §4.4–4.5) on the model-input
// plane: what training derives from the labels and what a stack feeds the graph. Browser-safe.
//
// Conventions (spec §11): a box is [x1, y1, x2, y2] in model-input pixels, x = column, y = row, upper
// edges exclusive (a one-pixel object at (r, c) has the box [c, r, c + 1, r + 1]). A point is the pixel
// (x, y) = (column, row); the prompt encoder adds the 0.5 that moves it to the pixel centre.
//
// What the official code leaves open (spec §11 "[not in code]") and how we decide it:
// - Training boxes are the tight box of every foreground class on the slice, taken from the label after
//   augmentation (so rotations and flips can never disagree with it), jittered as SAM was trained: each
//   coordinate moves by Gaussian noise of std 10 % of the box side, at most 20 px at 1024 px (scaled to S).
// - A slice without foreground inside a prompted stack gets the box of the nearest slice of the stack that
//   has one (a 3D box drawn around an object also covers slices the object does not reach), and no points.
// - Stacks are drawn only where at least one slice holds foreground, which is where inference runs them.
// - Point slots (a model-wide count P, 0 = boxes only) hold foreground points (label 1), background points
//   inside the box (label 0) or nothing (label −1, SAM's padding). With points, 20 % of the slices trade
//   their box for the whole image, so a model also works from points alone.
import { MasamError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';

/** What prompts a model takes: one box per slice image always, plus `points` point slots per image. */
export interface PromptSpec {
  readonly points: number;
}

export type Box = readonly [number, number, number, number];

export interface PromptPoint {
  readonly x: number;
  readonly y: number;
  /** 1 foreground, 0 background. */
  readonly label: 0 | 1;
}

/** One slice image's prompt in model-input pixels. */
export interface SlicePrompt {
  readonly box: Box;
  readonly points: readonly PromptPoint[];
}

/** One stack's prompts as graph inputs: boxes [D, 4], point coords [D, P, 2], point labels [D, P]. */
export interface StackPrompts {
  readonly boxes: Float32Array;
  readonly pointCoords: Float32Array;
  readonly pointLabels: Float32Array;
}

/** Label value used for an empty point slot (SAM's padding point). */
export const EMPTY_POINT = -1;

/** SAM's box noise: std 10 % of the side, at most 20 px at SAM's 1024 px input. */
const JITTER_STD = 0.1;
const JITTER_MAX_AT_1024 = 20;
/** Share of point-prompted slices that keep the points but replace the box by the whole image. */
const POINTS_ONLY_SHARE = 0.2;

/**
 * The tight box of the pixels > 0 of the row-major size×size plane starting at `offset` of `data`; null
 * when there are none.
 */
export function foregroundBox(data: ArrayLike<number>, size: number, offset = 0): Box | null {
  let [x1, y1, x2, y2] = [size, size, -1, -1];
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      if (data[offset + r * size + c]! > 0) {
        if (c < x1) x1 = c;
        if (c > x2) x2 = c;
        if (r < y1) y1 = r;
        y2 = r;
      }
    }
  }
  return x2 < 0 ? null : [x1, y1, x2 + 1, y2 + 1];
}

/** SAM-style box noise, clipped to the image and never inverted (at least 1 px wide and tall). */
export function jitterBox(box: Box, size: number, rng: Rng): Box {
  const limit = (JITTER_MAX_AT_1024 * size) / 1024;
  const noise = (side: number): number => Math.max(-limit, Math.min(limit, rng.normal() * JITTER_STD * side));
  const [w, h] = [box[2] - box[0], box[3] - box[1]];
  const clip = (v: number): number => Math.max(0, Math.min(size, v));
  let [x1, y1, x2, y2] = [
    clip(box[0] + noise(w)),
    clip(box[1] + noise(h)),
    clip(box[2] + noise(w)),
    clip(box[3] + noise(h)),
  ];
  if (x2 - x1 < 1) [x1, x2] = x1 + 1 <= size ? [x1, x1 + 1] : [size - 1, size];
  if (y2 - y1 < 1) [y1, y2] = y1 + 1 <= size ? [y1, y1 + 1] : [size - 1, size];
  return [x1, y1, x2, y2];
}

/** A uniformly drawn pixel of the plane where `keep(index)` holds; null when none does. */
function drawPixel(count: number, keep: (i: number) => boolean, rng: Rng): number | null {
  let n = 0;
  for (let i = 0; i < count; i++) if (keep(i)) n++;
  if (n === 0) return null;
  let k = rng.int(n);
  for (let i = 0; i < count; i++) if (keep(i) && k-- === 0) return i;
  return null;
}

/**
 * Training prompts of one augmented stack, label [D, S, S] (class per pixel), drawn from `rng` as the
 * file comment describes.
 * @throws MasamError when no slice of the stack holds foreground (such stacks are never drawn)
 */
export function trainingPrompts(
  label: ArrayLike<number>,
  depth: number,
  size: number,
  spec: PromptSpec,
  rng: Rng,
): StackPrompts {
  const plane = size * size;
  const slices: (SlicePrompt | null)[] = [];
  for (let t = 0; t < depth; t++) {
    const at = (i: number): number => label[t * plane + i]!;
    const tight = foregroundBox(label, size, t * plane);
    if (!tight) {
      slices.push(null);
      continue;
    }
    let box = jitterBox(tight, size, rng);
    const inBox = (i: number): boolean => {
      const [r, c] = [Math.floor(i / size), i % size];
      return (
        c >= Math.floor(box[0]) && c < Math.ceil(box[2]) && r >= Math.floor(box[1]) && r < Math.ceil(box[3])
      );
    };
    const points: PromptPoint[] = [];
    for (let slot = 0; slot < spec.points; slot++) {
      if (rng.uniform() < 0.5) continue;
      const positive = rng.uniform() < 0.5;
      const i = positive
        ? drawPixel(plane, (p) => at(p) > 0, rng)
        : drawPixel(plane, (p) => at(p) === 0 && inBox(p), rng);
      if (i !== null) points.push({ x: i % size, y: Math.floor(i / size), label: positive ? 1 : 0 });
    }
    if (points.some((p) => p.label === 1) && rng.uniform() < POINTS_ONLY_SHARE) box = [0, 0, size, size];
    slices.push({ box, points });
  }
  return stackPrompts(slices, spec);
}

/**
 * The graph inputs of one stack from per-slice prompts (null = the slice has none): a slice without a
 * prompt takes the box of the nearest prompted slice (the earlier one on ties) and no points.
 * @throws MasamError when no slice has a prompt, or a slice has more points than the model's slots
 */
export function stackPrompts(slices: readonly (SlicePrompt | null)[], spec: PromptSpec): StackPrompts {
  const depth = slices.length;
  const p = spec.points;
  const boxes = new Float32Array(depth * 4);
  const pointCoords = new Float32Array(depth * p * 2);
  const pointLabels = new Float32Array(depth * p).fill(EMPTY_POINT);
  for (let t = 0; t < depth; t++) {
    let source = slices[t] ?? null;
    for (let dist = 1; !source && dist < depth; dist++) source = slices[t - dist] ?? slices[t + dist] ?? null;
    if (!source) throw new MasamError('prompts: no slice of the stack has a prompt');
    boxes.set(source.box, t * 4);
    const own = slices[t];
    if (!own) continue;
    if (own.points.length > p) {
      throw new MasamError(
        `prompts: ${own.points.length} points on one slice, but the model takes at most ${p}`,
      );
    }
    own.points.forEach((pt, k) => {
      pointCoords[(t * p + k) * 2] = pt.x;
      pointCoords[(t * p + k) * 2 + 1] = pt.y;
      pointLabels[t * p + k] = pt.label;
    });
  }
  return { boxes, pointCoords, pointLabels };
}
