// Random gamma ("adjust_light", masam-spec.md 8.6 step 3): an 8-bit lookup table applied to the image;
// labels unchanged. The truncating uint8 casts of the official code are kept (quirk 14).
import { type AugmentOp, mapPlanes } from './sample.js';

export interface GammaParams {
  /** γ; the official draw is 0.5 + 3·U(0, 1), so γ ∈ [0.5, 3.5). */
  readonly gamma: number;
}

/** `LUT[i] = trunc(255·(i/255)^(1/γ))`, i = 0..255. */
export function gammaTable(gamma: number): Uint8Array {
  const inv = 1 / gamma;
  return Uint8Array.from({ length: 256 }, (_, i) => Math.trunc((i / 255) ** inv * 255));
}

/** Step 3 of RandomGenerator: image → trunc(float32(255·x)) → LUT → /255. */
export const gamma: AugmentOp<GammaParams> = {
  name: 'gamma',
  sampleParams: (rng) => ({ gamma: rng.uniform() * 3 + 0.5 }),
  apply: (params, sample) => {
    const lut = gammaTable(params.gamma);
    const { shape } = sample.image;
    const image = mapPlanes(sample.image, shape[shape.length - 2]!, shape[shape.length - 1]!, (src, dst) => {
      for (let i = 0; i < src.length; i++) {
        // uint8 casts of out-of-range values are undefined in NumPy; clamp so they are at least stable.
        const u = Math.min(Math.max(Math.trunc(Math.fround(src[i]! * 255)), 0), 255);
        dst[i] = lut[u]! / 255;
      }
    });
    return { image, label: sample.label };
  },
};
