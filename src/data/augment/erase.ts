// Random erasing (masam-spec.md 8.6 step 4): one box of uniform noise, the same noise in every slice,
// with the label set to background inside the box.
import { MasamError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { type AugmentOp, mapPlanes, type PlaneSize } from './sample.js';

export interface EraseParams {
  /** Top row and left column of the box. */
  readonly top: number;
  readonly left: number;
  /** Box size in rows (ny) and columns (nx); either may be 0 (an empty box). */
  readonly height: number;
  readonly width: number;
  /** Noise patch [height, width], row-major, written into every image plane. */
  readonly noise: Float32Array;
}

export interface EraseRanges {
  /** Box area as a fraction of H·W; default [0.02, 0.05]. */
  readonly scale?: readonly [number, number];
  /** Width/height ratio; default [0.3, 3.3]. */
  readonly ratio?: readonly [number, number];
}

/**
 * Draws a box as the official code does: area `se = U(scale)·H·W`, ratio `re = U(ratio)`,
 * `nx = int(√(se·re))`, `ny = int(√(se/re))`, redrawn until nx < W and ny < H; then
 * `top ∈ [0, H − ny]`, `left ∈ [0, W − nx]` and U(0, 1) noise.
 */
export function sampleEraseParams(rng: Rng, size: PlaneSize, ranges: EraseRanges = {}): EraseParams {
  const [s0, s1] = ranges.scale ?? [0.02, 0.05];
  const [r0, r1] = ranges.ratio ?? [0.3, 3.3];
  const { height: h, width: w } = size;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const se = rng.range(s0, s1) * h * w;
    const re = rng.range(r0, r1);
    const nx = Math.trunc(Math.sqrt(se * re));
    const ny = Math.trunc(Math.sqrt(se / re));
    if (nx < w && ny < h) {
      const top = rng.int(h - ny + 1);
      const left = rng.int(w - nx + 1);
      const noise = new Float32Array(ny * nx);
      for (let i = 0; i < noise.length; i++) noise[i] = rng.uniform();
      return { top, left, height: ny, width: nx, noise };
    }
  }
  throw new MasamError(`erase: no box fits a ${h}×${w} plane`);
}

/** Step 4 of RandomGenerator. */
export const erase: AugmentOp<EraseParams> = {
  name: 'erase',
  sampleParams: (rng, size) => sampleEraseParams(rng, size),
  apply: (p, sample) => {
    const fill =
      (value: (r: number, c: number) => number) => (src: Float32Array, dst: Float32Array, w: number) => {
        dst.set(src);
        for (let r = 0; r < p.height; r++)
          for (let c = 0; c < p.width; c++) dst[(p.top + r) * w + p.left + c] = value(r, c);
      };
    const { shape } = sample.image;
    const h = shape[shape.length - 2]!;
    const w = shape[shape.length - 1]!;
    if (
      p.top < 0 ||
      p.left < 0 ||
      p.top + p.height > h ||
      p.left + p.width > w ||
      p.noise.length !== p.height * p.width
    ) {
      throw new MasamError(
        `erase: box ${p.height}×${p.width} at (${p.top}, ${p.left}) does not fit ${h}×${w}`,
      );
    }
    const noise = fill((r, c) => p.noise[r * p.width + c]!);
    const zero = fill(() => 0);
    return {
      image: mapPlanes(sample.image, h, w, (src, dst) => noise(src, dst, w)),
      label: mapPlanes(sample.label, h, w, (src, dst) => zero(src, dst, w)),
    };
  },
};
