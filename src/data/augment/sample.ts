// The sample that augmentations transform (an image stack and its label stack) and the plane helpers
// every op shares. Follows masam-spec.md 8.6: ops act per H×W plane, the same way on every slice.
import type { Rng } from '../../core/rng.js';
import { MasamError } from '../../core/errors.js';
import { type HostTensor, hostTensor } from '../../core/host_tensor.js';

/**
 * An image stack and its label stack, both float32 with the plane axes last: image [D, H, W] (or
 * [D, C, H, W] for RGB), label [D, H, W] holding class indices. Ops never modify their input.
 */
export interface AugmentSample {
  readonly image: HostTensor<'float32'>;
  readonly label: HostTensor<'float32'>;
}

/** Height and width of a sample's planes. */
export interface PlaneSize {
  readonly height: number;
  readonly width: number;
}

/**
 * One augmentation: `sampleParams` draws everything random from an explicit rng, `apply` is a pure
 * function of those params, so tests and replays can apply fixed params.
 */
export interface AugmentOp<P> {
  readonly name: string;
  sampleParams(rng: Rng, size: PlaneSize): P;
  apply(params: P, sample: AugmentSample): AugmentSample;
}

/** The plane size shared by image and label; throws when they disagree. */
export function planeSize(sample: AugmentSample): PlaneSize {
  const size = (t: HostTensor<'float32'>, what: string): PlaneSize => {
    if (t.shape.length < 2)
      throw new MasamError(`augment: ${what} needs [..., H, W], got [${t.shape.join(', ')}]`);
    return { height: t.shape[t.shape.length - 2]!, width: t.shape[t.shape.length - 1]! };
  };
  const a = size(sample.image, 'image');
  const b = size(sample.label, 'label');
  if (a.height !== b.height || a.width !== b.width) {
    throw new MasamError(
      `augment: image [${sample.image.shape.join(', ')}] and label [${sample.label.shape.join(', ')}] planes differ`,
    );
  }
  return a;
}

/**
 * Applies `fn(src, dst)` to every H×W plane of `t`, writing planes of outH×outW; leading axes are kept.
 */
export function mapPlanes(
  t: HostTensor<'float32'>,
  outH: number,
  outW: number,
  fn: (src: Float32Array, dst: Float32Array) => void,
): HostTensor<'float32'> {
  const rank = t.shape.length;
  const inPlane = t.shape[rank - 2]! * t.shape[rank - 1]!;
  const outPlane = outH * outW;
  const planes = inPlane === 0 ? 0 : t.data.length / inPlane;
  const out = new Float32Array(planes * outPlane);
  for (let p = 0; p < planes; p++) {
    fn(t.data.subarray(p * inPlane, (p + 1) * inPlane), out.subarray(p * outPlane, (p + 1) * outPlane));
  }
  return hostTensor('float32', [...t.shape.slice(0, rank - 2), outH, outW], out);
}

/** The official `convert_to_PIL`: clip to [0, 1], then `uint8(float32(x·255))` (truncation). */
export function imageToUint8(src: Float32Array): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = Math.min(Math.max(src[i]!, 0), 1);
    out[i] = Math.fround(v * 255);
  }
  return out;
}

/** The official `convert_to_np`: uint8 / 255 in float32. */
export function uint8ToImage(src: Uint8Array, dst: Float32Array): void {
  for (let i = 0; i < src.length; i++) dst[i] = src[i]! / 255;
}

/** Labels go through `uint8` (truncation) for Pillow and back to float32 unchanged. */
export function labelToUint8(src: Float32Array): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = Math.min(Math.max(Math.trunc(src[i]!), 0), 255);
  return out;
}
