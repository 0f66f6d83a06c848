// The official training augmentation, RandomGenerator (masam-spec.md 8.6): rot/flip, rotation, gamma and
// erasing each with probability 0.5, then RandAugment, then an optional resize to the model size.
import type { Rng } from '../../core/rng.js';
import { zoom } from '../zoom.js';
import { type EraseParams, erase, sampleEraseParams } from './erase.js';
import { type GammaParams, gamma } from './gamma.js';
import {
  RAND_AUGMENT_INTENSITY_OPS,
  type RandAugmentParams,
  randAugment,
  sampleRandAugmentParams,
} from './rand_augment.js';
import { type RotateParams, rotate } from './rotate.js';
import { type RotFlipParams, rotFlip } from './rot_flip.js';
import { type AugmentSample, type PlaneSize, planeSize } from './sample.js';

/** Everything random in one RandomGenerator call; null marks a step that did not fire. */
export interface RandomGeneratorParams {
  readonly rotFlip: RotFlipParams | null;
  readonly rotate: RotateParams | null;
  readonly gamma: GammaParams | null;
  readonly erase: EraseParams | null;
  readonly randAugment: RandAugmentParams;
}

export interface RandomGeneratorOptions {
  /** Probability of each of the four optional steps; default 0.5 (`random.random() > 0.5`). */
  readonly p?: number;
  /** Number of RandAugment ops; default 2. */
  readonly n?: number;
  /**
   * 'bbox': the box-prompted variant's pipeline (spec §11): no erasing, intensity-only RandAugment. Our
   * boxes come from the augmented labels, so rot/flip and rotation need no box arithmetic.
   */
  readonly variant?: 'official' | 'bbox';
}

/**
 * Draws the params of one RandomGenerator call for planes of `size`. The erasing box is drawn for the
 * plane size after rot/flip (odd k swaps H and W).
 *
 * The official code draws from four generators (Python `random`, NumPy's global state, and a PCG64
 * Generator seeded 42 that every DataLoader worker copies, quirk 13); we draw everything from one
 * explicit rng and match the distributions, not the streams.
 */
export function sampleRandomGeneratorParams(
  rng: Rng,
  size: PlaneSize,
  options: RandomGeneratorOptions = {},
): RandomGeneratorParams {
  const p = options.p ?? 0.5;
  const fires = (): boolean => rng.uniform() >= 1 - p;
  const rf = fires() ? rotFlip.sampleParams(rng, size) : null;
  const rot = fires() ? rotate.sampleParams(rng, size) : null;
  const gm = fires() ? gamma.sampleParams(rng, size) : null;
  const swapped = rf !== null && rf.k % 2 !== 0;
  const after: PlaneSize = swapped ? { height: size.width, width: size.height } : size;
  const bbox = options.variant === 'bbox';
  const er = !bbox && fires() ? sampleEraseParams(rng, after) : null;
  const ra = sampleRandAugmentParams(rng, options.n ?? 2, bbox ? RAND_AUGMENT_INTENSITY_OPS : undefined);
  return {
    rotFlip: rf,
    rotate: rot,
    gamma: gm,
    erase: er,
    randAugment: ra,
  };
}

/**
 * Applies drawn params in the official order (steps 1–5), then zooms to `outputSize` [H, W] if given and
 * different (image order 3, label order 0; step 6). The unused 128×128 low-res label (step 7) is not made.
 */
export function applyRandomGenerator(
  params: RandomGeneratorParams,
  sample: AugmentSample,
  outputSize?: readonly [number, number],
): AugmentSample {
  let s = sample;
  if (params.rotFlip) s = rotFlip.apply(params.rotFlip, s);
  if (params.rotate) s = rotate.apply(params.rotate, s);
  if (params.gamma) s = gamma.apply(params.gamma, s);
  if (params.erase) s = erase.apply(params.erase, s);
  s = randAugment.apply(params.randAugment, s);
  if (outputSize) {
    const { height, width } = planeSize(s);
    if (height !== outputSize[0] || width !== outputSize[1]) {
      const factors = (rank: number): number[] => [
        ...new Array<number>(rank - 2).fill(1),
        outputSize[0] / height,
        outputSize[1] / width,
      ];
      s = {
        image: zoom(s.image, factors(s.image.shape.length), { order: 3 }),
        label: zoom(s.label, factors(s.label.shape.length), { order: 0 }),
      };
    }
  }
  return s;
}

/**
 * One RandomGenerator call: draws params from `rng` and applies them.
 * @example const out = randomGenerator(rng, { image, label }, { outputSize: [512, 512] });
 */
export function randomGenerator(
  rng: Rng,
  sample: AugmentSample,
  options: RandomGeneratorOptions & { readonly outputSize?: readonly [number, number] } = {},
): AugmentSample {
  return applyRandomGenerator(
    sampleRandomGeneratorParams(rng, planeSize(sample), options),
    sample,
    options.outputSize,
  );
}
