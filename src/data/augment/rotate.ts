// Random small rotation (masam-spec.md 8.6 step 2): SciPy `ndimage.rotate(x, θ, order=0, reshape=False)`
// on image and label alike: nearest neighbour, same size, samples outside the plane become 0.
import type { HostTensor } from '../../core/host_tensor.js';
import { type AugmentOp, mapPlanes } from './sample.js';

export interface RotateParams {
  /** Angle in degrees; the official draw is an integer in [−15, 14]. */
  readonly angle: number;
}

/** cos and sin of an angle in degrees, exact at multiples of 90° (as SciPy's cosdg/sindg). */
function cosSinDeg(angle: number): [number, number] {
  const a = ((angle % 360) + 360) % 360;
  if (a === 0) return [1, 0];
  if (a === 90) return [0, 1];
  if (a === 180) return [-1, 0];
  if (a === 270) return [0, -1];
  const rad = (angle * Math.PI) / 180;
  return [Math.cos(rad), Math.sin(rad)];
}

/**
 * Rotates every plane of `t` ([..., H, W]) about its centre ((H−1)/2, (W−1)/2): output (r, c) takes
 * input (round(r_in), round(c_in)) with `r_in = cos·r + sin·c + off_r`, `c_in = −sin·r + cos·c + off_c`
 * (SciPy's matrix and offset form), or 0 when a coordinate is outside [0, n − 1].
 */
export function rotatePlanes(t: HostTensor<'float32'>, angle: number): HostTensor<'float32'> {
  const h = t.shape[t.shape.length - 2]!;
  const w = t.shape[t.shape.length - 1]!;
  const [cos, sin] = cosSinDeg(angle);
  const cr = (h - 1) / 2;
  const cc = (w - 1) / 2;
  const offR = cr - (cos * cr + sin * cc);
  const offC = cc - (-sin * cr + cos * cc);
  const index = new Int32Array(h * w);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const ri = r * cos + c * sin + offR;
      const ci = r * -sin + c * cos + offC;
      const inside = ri >= 0 && ri <= h - 1 && ci >= 0 && ci <= w - 1;
      index[r * w + c] = inside ? Math.floor(ri + 0.5) * w + Math.floor(ci + 0.5) : -1;
    }
  }
  return mapPlanes(t, h, w, (src, dst) => {
    for (let p = 0; p < index.length; p++) dst[p] = index[p]! < 0 ? 0 : src[index[p]!]!;
  });
}

/** Step 2 of RandomGenerator: an integer angle uniform in [−15, 14] (`np.random.randint(−15, 15)`). */
export const rotate: AugmentOp<RotateParams> = {
  name: 'rotate',
  sampleParams: (rng) => ({ angle: rng.int(30) - 15 }),
  apply: (params, sample) => ({
    image: rotatePlanes(sample.image, params.angle),
    label: rotatePlanes(sample.label, params.angle),
  }),
};
