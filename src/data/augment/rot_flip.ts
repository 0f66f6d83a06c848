// Random rot90 + flip (masam-spec.md 8.6 step 1): rotate by k·90° in the plane, then always flip one of
// the two plane axes. Same transform for image and label.
import type { HostTensor } from '../../core/host_tensor.js';
import { type AugmentOp, mapPlanes } from './sample.js';

export interface RotFlipParams {
  /** Quarter turns, as `np.rot90(x, k, axes=(0, 1))` (counter-clockwise in (row, col)). */
  readonly k: number;
  /** Axis flipped afterwards: 0 reverses rows, 1 reverses columns. The official code always flips. */
  readonly axis: number;
}

/** Source (row, col) of output (i, j) for `rot90(k)` of an h×w plane (output h'×w'). */
function rot90Source(k: number, i: number, j: number, h: number, w: number): [number, number] {
  switch (((k % 4) + 4) % 4) {
    case 1:
      return [j, w - 1 - i];
    case 2:
      return [h - 1 - i, w - 1 - j];
    case 3:
      return [h - 1 - j, i];
    default:
      return [i, j];
  }
}

/** rot90 by `k` then flip `axis`, on every plane of `t` ([..., H, W]). */
export function rotFlipPlanes(t: HostTensor<'float32'>, params: RotFlipParams): HostTensor<'float32'> {
  const h = t.shape[t.shape.length - 2]!;
  const w = t.shape[t.shape.length - 1]!;
  const odd = params.k % 2 !== 0;
  const oh = odd ? w : h;
  const ow = odd ? h : w;
  const index = new Int32Array(oh * ow);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      const fi = params.axis === 0 ? oh - 1 - i : i;
      const fj = params.axis === 1 ? ow - 1 - j : j;
      const [r, c] = rot90Source(params.k, fi, fj, h, w);
      index[i * ow + j] = r * w + c;
    }
  }
  return mapPlanes(t, oh, ow, (src, dst) => {
    for (let p = 0; p < index.length; p++) dst[p] = src[index[p]!]!;
  });
}

/** Step 1 of RandomGenerator: k uniform in {0, 1, 2, 3}, then flip axis 0 or 1 uniformly. */
export const rotFlip: AugmentOp<RotFlipParams> = {
  name: 'rot_flip',
  sampleParams: (rng) => ({ k: rng.int(4), axis: rng.int(2) }),
  apply: (params, sample) => ({
    image: rotFlipPlanes(sample.image, params),
    label: rotFlipPlanes(sample.label, params),
  }),
};
