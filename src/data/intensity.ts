// Per-modality intensity normalisation: the CT reader (HU window, z-score, per-stack min-max), the prostate
// MRI script (99th-percentile clip, min-max) and video frames (RGB/255). Follows masam-spec.md 8.2–8.4.
// NumPy's float32 arithmetic is reproduced with Math.fround after every float32 operation.
//
// Non-finite voxels (NaN, ±Inf). The official code has no rule for them: np.clip sends ±Inf to the window
// ends but keeps NaN, and one NaN then makes the stack's min and max NaN, so all its slices come out blank
// (issue 10). masam's policy extends the official clip: where the clip would place ±Inf it is placed
// (CT: −Inf → window min, +Inf → window max, spec 8.2 step 1; MRI: +Inf → the finite maximum, which the
// 99th-percentile clip of spec 8.3 then caps, −Inf → the minimum `low`), and NaN — no intensity at all —
// takes the bottom of the range, the value the normalisation maps to 0 (the CT window minimum, −200 HU;
// the MRI minimum). Every entry point below applies it, so inference and the training cache agree;
// callers count the voxels first (countNonFinite) to warn or, in strict mode, refuse.

import type { TypedArray } from '../core/dtype.js';

const f32 = Math.fround;

/** The official CT window in HU (spec 8.2). */
export const CT_WINDOW: readonly [number, number] = [-200, 250];

/** Mean and population std of the clipped ×255-scaled BTCV intensities (spec 8.2). They cancel in the
 * final min-max and only affect float32 rounding, so they are kept for bit-level parity. */
export const BTCV_MEAN = 50.21997497685108;
export const BTCV_STD = 68.47153712416372;

export interface CtNormalizeOptions {
  /** HU window [min, max]; default CT_WINDOW. */
  readonly window?: readonly [number, number];
}

/**
 * The official training/test reader on one stack (spec 8.2, online steps 1–4): clip to the HU window,
 * scale to 0..255 and cast to float32, z-score with the BTCV constants, then min-max over the whole
 * stack. Applied to the [0, 1] prostate stacks it reduces to per-stack min-max, which is what the
 * released code does for MRI too (spec 8.3).
 * @param hu voxel values of one stack, any layout (the min and max are over all of them)
 * @returns float32 values in [0, 1]
 */
export function normalizeCtStack(hu: ArrayLike<number>, options: CtNormalizeOptions = {}): Float32Array {
  const [lo, hi] = options.window ?? CT_WINDOW;
  const mean = f32(BTCV_MEAN);
  const std = f32(BTCV_STD);
  const out = new Float32Array(hu.length);
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < hu.length; i++) {
    const x = hu[i]!;
    // NaN takes the window minimum (see the opening comment); ±Inf are clipped like any value.
    const v = Number.isNaN(x) ? lo : Math.min(Math.max(x, lo), hi);
    // Step 2 runs in float64 and is then cast; step 3 is float32 array ∘ Python scalar → float32.
    const scaled = f32(((v - lo) / (hi - lo)) * 255);
    const z = f32(f32(scaled - mean) / std);
    out[i] = z;
    if (z < min) min = z;
    if (z > max) max = z;
  }
  return minMaxInto(out, min, max);
}

/**
 * Min-max to [0, 1] as the reader's last step: `(v − min)/(max − min + 1e−8)` in float32. A constant
 * input gives zeros (the 1e−8 keeps the division finite).
 */
export function minMaxNormalize(values: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(values);
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of out) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return minMaxInto(out, min, max);
}

function minMaxInto(out: Float32Array, min: number, max: number): Float32Array {
  if (out.length === 0) return out;
  // NumPy 1.x: float32 scalar + Python float is float64, then the array division casts it to float32.
  const denom = f32(f32(max - min) + 1e-8);
  for (let i = 0; i < out.length; i++) out[i] = f32(out[i]! - min) / denom;
  return out;
}

/**
 * NumPy's default ('linear') percentile: virtual index `n·q + (1 − q) − 1` with q = p/100, then
 * `a + (b − a)·t`, or `b − (b − a)·(1 − t)` when t ≥ 0.5 (NumPy's `_lerp`), in float64. For a
 * Float32Array, `b − a` is rounded to float32 as NumPy 1.x does for float32 data.
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  const n = values.length;
  if (n === 0) throw new RangeError('percentile: empty input');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p = ${p} is outside [0, 100]`);
  const sorted = Float64Array.from(values).sort();
  const q = p / 100;
  const virtual = n * q + (1 - q) - 1;
  const i0 = Math.min(Math.max(Math.floor(virtual), 0), n - 1);
  const i1 = Math.min(i0 + 1, n - 1);
  const t = virtual - Math.floor(virtual);
  const a = sorted[i0]!;
  const b = sorted[i1]!;
  const diff = values instanceof Float32Array ? f32(b - a) : b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * The prostate script's per-volume normalisation (spec 8.3, steps 2–3): to float32, `high` = 99th
 * percentile, `low` = minimum, clip above `high` only, then `(x − low)/(high − low)`, in float32.
 * A constant volume (high = low) gives zeros instead of NaN.
 */
export function normalizeMriVolume(values: ArrayLike<number>): Float32Array {
  const x = Float32Array.from(values);
  if (x.length === 0) return x;
  replaceNonFiniteInPlace(x, 'mri');
  // NumPy 1.23: the quantile is float64; `np.where` stores it as float32, while the denominator
  // `high − low` is taken in float64 and cast once for the float32 division.
  const high = percentile(x, 99);
  const high32 = f32(high);
  let low = Number.POSITIVE_INFINITY;
  for (const v of x) if (v < low) low = v;
  const denom = f32(high - low);
  for (let i = 0; i < x.length; i++) {
    x[i] = denom === 0 ? 0 : f32(Math.min(x[i]!, high32) - low) / denom;
  }
  return x;
}

/** Video frames: uint8 RGB to float32 in [0, 1] (spec 8.4, "the natural choice"; not in the official code). */
export function normalizeVideo(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! / 255;
  return out;
}

/** Modalities with an intensity recipe. */
export type Modality = 'ct' | 'mri' | 'video';

/**
 * Online normalisation of one stack for `modality`: the official reader for CT and MRI (spec 8.2/8.3;
 * for MRI the input is the offline-normalised [0, 1] volume, see normalizeMriVolume), RGB/255 for video.
 */
export function normalizeStack(stack: ArrayLike<number>, modality: Modality): Float32Array {
  return modality === 'video' ? normalizeVideo(stack) : normalizeCtStack(stack);
}

/** The number of NaN and ±Inf values in `values` (integer arrays have none). */
export function countNonFinite(values: ArrayLike<number> | ArrayLike<bigint>): number {
  if (!(values instanceof Float32Array || values instanceof Float64Array)) return 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) n++;
  return n;
}

/** Where NaN, −Inf and +Inf go for `modality` (opening comment), for warnings. */
export function nonFinitePolicy(modality: Modality, window: readonly [number, number] = CT_WINDOW): string {
  if (modality === 'ct') {
    return `NaN and −Inf → ${window[0]} HU (the window minimum), +Inf → ${window[1]} HU (the window maximum)`;
  }
  if (modality === 'mri') return 'NaN and −Inf → the finite minimum, +Inf → the finite maximum';
  return 'NaN and −Inf → 0, +Inf → 255';
}

/**
 * Replaces NaN and ±Inf by the modality's values (opening comment) in place: CT the `window` ends, MRI the
 * finite minimum and maximum (0 when there is no finite value), video 0 and 255.
 * @returns how many values were replaced
 */
export function replaceNonFiniteInPlace(
  values: Float32Array | Float64Array,
  modality: Modality,
  window: readonly [number, number] = CT_WINDOW,
): number {
  let count = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      count++;
    } else {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (count === 0) return 0;
  const [low, high] =
    modality === 'ct' ? window : modality === 'video' ? [0, 255] : min <= max ? [min, max] : [0, 0];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) values[i] = v === Number.POSITIVE_INFINITY ? high : low;
  }
  return count;
}

/**
 * `data` with NaN and ±Inf replaced as replaceNonFiniteInPlace does: the same array when it holds none, else
 * a replaced copy. The one call inference (infer/stacks.ts) and the training cache make before resizing,
 * whose cubic spline would spread a NaN over its whole plane.
 */
export function finiteIntensities<T extends TypedArray>(
  data: T,
  modality: Modality,
  window: readonly [number, number] = CT_WINDOW,
): T {
  if (countNonFinite(data) === 0) return data;
  // Only float arrays hold non-finite values.
  const copy = (data as Float32Array | Float64Array).slice();
  replaceNonFiniteInPlace(copy, modality, window);
  return copy as T;
}
