// RandAugment as the official RandomGenerator runs it (masam-spec.md 8.6 step 5): two distinct ops out of
// ten, each with a uniform magnitude, applied per slice on 8-bit images through Pillow's kernels.
import type { HostTensor } from '../../core/host_tensor.js';
import type { Rng } from '../../core/rng.js';
import {
  type AffineCoefficients,
  affineBilinear8,
  affineNearest8,
  blend8,
  meanLevel8,
  posterize8,
  smooth8,
} from './pil.js';
import {
  type AugmentOp,
  type AugmentSample,
  imageToUint8,
  labelToUint8,
  mapPlanes,
  uint8ToImage,
} from './sample.js';

/** The ten ops, in the official list order. */
export type RandAugmentOpName =
  | 'shear_x'
  | 'shear_y'
  | 'scale'
  | 'translate_x'
  | 'translate_y'
  | 'posterize'
  | 'contrast'
  | 'brightness'
  | 'sharpness'
  | 'identity';

/** Magnitude range [lo, hi) of each op (the official RandomGenerator's settings). */
export const RAND_AUGMENT_RANGES: Readonly<Record<RandAugmentOpName, readonly [number, number]>> = {
  shear_x: [-0.3, 0.3],
  shear_y: [-0.3, 0.3],
  scale: [0.8, 1.2],
  translate_x: [-0.2, 0.2],
  translate_y: [-0.2, 0.2],
  posterize: [4, 8.99],
  contrast: [0.7, 1.3],
  brightness: [0.7, 1.3],
  sharpness: [0.1, 1.9],
  identity: [0, 1],
};

export const RAND_AUGMENT_OPS: readonly RandAugmentOpName[] = [
  'shear_x',
  'shear_y',
  'scale',
  'translate_x',
  'translate_y',
  'posterize',
  'contrast',
  'brightness',
  'sharpness',
  'identity',
];

export interface RandAugmentStep {
  readonly op: RandAugmentOpName;
  /** Magnitude drawn from the op's range. */
  readonly v: number;
}

export interface RandAugmentParams {
  /** Ops applied in this order. */
  readonly steps: readonly RandAugmentStep[];
}

/**
 * PIL affine coefficients of the geometric ops for an h×w plane (x = column, y = row). Scale is about
 * the top-left corner, as in the official code (quirk 13).
 */
export function affineCoefficients(
  op: RandAugmentOpName,
  v: number,
  h: number,
  w: number,
): AffineCoefficients | null {
  switch (op) {
    case 'shear_x':
      return [1, v, (-v * w) / 2, 0, 1, 0];
    case 'shear_y':
      return [1, 0, 0, v, 1, (-v * h) / 2];
    case 'scale':
      return [v, 0, 0, 0, v, 0];
    case 'translate_x':
      return [1, 0, v * w, 0, 1, 0];
    case 'translate_y':
      return [1, 0, 0, 0, 1, v * h];
    default:
      return null;
  }
}

/** Applies an 8-bit kernel to every image plane: convert_to_PIL → kernel → convert_to_np. */
function imageOp8(
  t: HostTensor<'float32'>,
  h: number,
  w: number,
  kernel: (u8: Uint8Array) => Uint8Array,
): HostTensor<'float32'> {
  return mapPlanes(t, h, w, (src, dst) => uint8ToImage(kernel(imageToUint8(src)), dst));
}

/**
 * Applies one RandAugment op with magnitude `v`. Geometric ops transform the image with bilinear and the
 * label with nearest sampling; the intensity ops leave the label alone; identity changes nothing (it does
 * not even quantise the image).
 */
export function applyRandAugmentOp(op: RandAugmentOpName, v: number, sample: AugmentSample): AugmentSample {
  const { shape } = sample.image;
  const h = shape[shape.length - 2]!;
  const w = shape[shape.length - 1]!;
  const coeffs = affineCoefficients(op, v, h, w);
  if (coeffs) {
    const image = imageOp8(sample.image, h, w, (u8) => affineBilinear8(u8, h, w, coeffs));
    const label = mapPlanes(sample.label, h, w, (src, dst) =>
      dst.set(affineNearest8(labelToUint8(src), h, w, coeffs)),
    );
    return { image, label };
  }
  switch (op) {
    case 'posterize': {
      const bits = Math.trunc(v);
      return { image: imageOp8(sample.image, h, w, (u8) => posterize8(u8, bits)), label: sample.label };
    }
    case 'contrast':
      return {
        image: imageOp8(sample.image, h, w, (u8) => blend8(meanLevel8(u8), u8, v)),
        label: sample.label,
      };
    case 'brightness':
      return { image: imageOp8(sample.image, h, w, (u8) => blend8(0, u8, v)), label: sample.label };
    case 'sharpness':
      return {
        image: imageOp8(sample.image, h, w, (u8) => blend8(smooth8(u8, h, w), u8, v)),
        label: sample.label,
      };
    default:
      return sample;
  }
}

/** The box-prompted variant's pool (spec §11): intensity ops only, so boxes need no geometric update. */
export const RAND_AUGMENT_INTENSITY_OPS: readonly RandAugmentOpName[] = [
  'posterize',
  'contrast',
  'brightness',
  'sharpness',
  'identity',
];

/**
 * Draws `n` distinct ops uniformly from `ops` (the ten: `rng.choice(10, n, replace=False)`), then a
 * magnitude for each.
 */
export function sampleRandAugmentParams(
  rng: Rng,
  n = 2,
  ops: readonly RandAugmentOpName[] = RAND_AUGMENT_OPS,
): RandAugmentParams {
  const pool = [...ops];
  const picked: RandAugmentOpName[] = [];
  for (let i = 0; i < n && pool.length > 0; i++) picked.push(pool.splice(rng.int(pool.length), 1)[0]!);
  return {
    steps: picked.map((op) => {
      const [lo, hi] = RAND_AUGMENT_RANGES[op];
      return { op, v: rng.range(lo, hi) };
    }),
  };
}

/** Step 5 of RandomGenerator: two distinct ops, always applied. */
export const randAugment: AugmentOp<RandAugmentParams> = {
  name: 'rand_augment',
  sampleParams: (rng) => sampleRandAugmentParams(rng),
  apply: (params, sample) => params.steps.reduce((s, step) => applyRandAugmentOp(step.op, step.v, s), sample),
};
