// D-slice stacks over a volume (MA-SAM's 2.5D input) and the way back: edge-replicated stacks with the
// official in-plane orientation (masam-spec.md 8.1), the stack centres of a sweep, and per-slice argmax
// back into a volume (spec 10.2; the sweep itself is stack_sweep.ts).
import { MasamError } from '../core/errors.js';
import { type HostTensor, hostTensor } from '../core/host_tensor.js';
import type { Volume } from '../io/volume.js';

/**
 * In-plane orientation of a slice as a row-major [H, W] plane.
 * - `official`: `out[r, c] = vol[nx−1−c, ny−1−r]`, H = ny, W = nx (spec 8.1: rot90 then flip of axis 1).
 *   Required to use the released fine-tuned weights.
 * - `none`: `out[r, c] = vol[r, c]`, H = nx, W = ny (the NumPy view of the stored array).
 */
export type SliceOrientation = 'official' | 'none';

export interface StackOptions {
  /** Slices per stack, D (odd); default 5. */
  readonly depth?: number;
  /** In-plane orientation; default 'official'. */
  readonly orientation?: SliceOrientation;
}

/** What slices are cut from: a Volume, or anything with its shape and data. */
export type VolumeLike = Pick<Volume, 'shape' | 'data'>;

/** The geometry a result volume copies. */
export type GeometryLike = Pick<Volume, 'shape' | 'spacing' | 'affine'>;

function dims(shape: readonly number[]): { nx: number; ny: number; nz: number; nc: number } {
  if (shape.length !== 3 && shape.length !== 4) {
    throw new MasamError(
      `slices: expected a [nx, ny, nz] or [nx, ny, nz, C] volume, got [${shape.join(', ')}]`,
    );
  }
  return { nx: shape[0]!, ny: shape[1]!, nz: shape[2]!, nc: shape[3] ?? 1 };
}

function checkDepth(depth: number): number {
  if (!Number.isInteger(depth) || depth < 1 || depth % 2 === 0) {
    throw new MasamError(`slices: depth ${depth} must be a positive odd integer`);
  }
  return (depth - 1) / 2;
}

/** [H, W] of the planes cut from a volume of `shape` under `orientation`. */
export function planeShape(
  shape: readonly number[],
  orientation: SliceOrientation = 'official',
): [number, number] {
  const { nx, ny } = dims(shape);
  return orientation === 'official' ? [ny, nx] : [nx, ny];
}

/**
 * Source slice indices of the stack centred at `centre`: `centre − h … centre + h` clamped to
 * [0, nz − 1], h = (D − 1)/2. This equals edge-replicating h slices at each end (spec 8.1), so the
 * first stack of a 5-slice sweep is [0, 0, 0, 1, 2] and the last [nz−3, nz−2, nz−1, nz−1, nz−1].
 */
export function stackSliceIndices(nz: number, centre: number, depth = 5): number[] {
  const h = checkDepth(depth);
  if (!Number.isInteger(centre) || centre < 0 || centre >= nz) {
    throw new MasamError(`slices: stack centre ${centre} is outside [0, ${nz - 1}]`);
  }
  return Array.from({ length: depth }, (_, t) => Math.min(Math.max(centre - h + t, 0), nz - 1));
}

/** Copies slice z of every channel into `out` at `offset` as C planes [H, W] under `orientation`. */
function copySlice(
  volume: VolumeLike,
  z: number,
  orientation: SliceOrientation,
  out: Float32Array,
  offset: number,
): void {
  const { nx, ny, nz, nc } = dims(volume.shape);
  const plane = nx * ny;
  const data = volume.data;
  for (let ch = 0; ch < nc; ch++) {
    const src = plane * (z + nz * ch);
    const dst = offset + ch * plane;
    if (orientation === 'official') {
      // out[r, c] = vol[nx−1−c, ny−1−r]: with i fastest this is the slice's memory reversed.
      for (let p = 0; p < plane; p++) out[dst + p] = Number(data[src + plane - 1 - p]);
    } else {
      for (let r = 0; r < nx; r++)
        for (let c = 0; c < ny; c++) out[dst + r * ny + c] = Number(data[src + r + nx * c]);
    }
  }
}

/**
 * Slice z as float32 planes: [H, W] for a 3D volume, [C, H, W] for a 4D one (C = shape[3], e.g. RGB).
 * Used for the centre label slice of each stack at inference (spec 10.1).
 */
export function extractSlice(
  volume: VolumeLike,
  z: number,
  orientation: SliceOrientation = 'official',
): HostTensor<'float32'> {
  const { nz, nc } = dims(volume.shape);
  if (!Number.isInteger(z) || z < 0 || z >= nz)
    throw new MasamError(`slices: slice ${z} is outside [0, ${nz - 1}]`);
  const [h, w] = planeShape(volume.shape, orientation);
  const out = new Float32Array(nc * h * w);
  copySlice(volume, z, orientation, out, 0);
  return hostTensor('float32', volume.shape.length === 4 ? [nc, h, w] : [h, w], out);
}

/**
 * The D-slice stack centred at slice `centre` (spec 8.1), as float32 [D, H, W] for a 3D volume or
 * [D, C, H, W] for a 4D one. Values are converted to float32 unchanged (exact for integer HU and
 * uint8); normalise afterwards with normalizeStack.
 * @example extractStack(ct, 0).shape // [5, ny, nx]; slices [0, 0, 0, 1, 2]
 */
export function extractStack(
  volume: VolumeLike,
  centre: number,
  options: StackOptions = {},
): HostTensor<'float32'> {
  const depth = options.depth ?? 5;
  const orientation = options.orientation ?? 'official';
  const { nz, nc } = dims(volume.shape);
  const [h, w] = planeShape(volume.shape, orientation);
  const per = nc * h * w;
  const out = new Float32Array(depth * per);
  stackSliceIndices(nz, centre, depth).forEach((z, t) => {
    copySlice(volume, z, orientation, out, t * per);
  });
  return hostTensor('float32', volume.shape.length === 4 ? [depth, nc, h, w] : [depth, h, w], out);
}

/**
 * A grey stack [D, H, W] as the model's input layout [D, C, H, W] with the slice replicated into C
 * channels (3 for SAM; spec 9.1 and 10.2). A [D, C, H, W] stack with C = `channels` is returned as is.
 */
export function repeatChannels(stack: HostTensor<'float32'>, channels = 3): HostTensor<'float32'> {
  if (stack.shape.length === 4 && stack.shape[1] === channels) return stack;
  if (stack.shape.length !== 3) {
    throw new MasamError(
      `repeatChannels: expected [D, H, W] or [D, ${channels}, H, W], got [${stack.shape.join(', ')}]`,
    );
  }
  const [d, h, w] = stack.shape as [number, number, number];
  const plane = h * w;
  const out = new Float32Array(d * channels * plane);
  for (let t = 0; t < d; t++) {
    const src = stack.data.subarray(t * plane, (t + 1) * plane);
    for (let c = 0; c < channels; c++) out.set(src, (t * channels + c) * plane);
  }
  return hostTensor('float32', [d, channels, h, w], out);
}

/**
 * Centres of the stacks of a sweep over nz slices. stride 1 is the official sweep (every slice is a
 * centre, spec 10.2); stride D gives non-overlapping stacks. Every slice is covered: the first centre is
 * at most h, and a last stack is added if the stride leaves the final slices uncovered.
 */
export function stackCentres(
  nz: number,
  options: { readonly depth?: number; readonly stride?: number } = {},
): number[] {
  const depth = options.depth ?? 5;
  const stride = options.stride ?? 1;
  const h = checkDepth(depth);
  if (!Number.isInteger(stride) || stride < 1 || stride > depth) {
    throw new MasamError(`slices: stride ${stride} must be an integer in [1, ${depth}] (depth)`);
  }
  const centres: number[] = [];
  for (let c = Math.min(h, Math.floor((stride - 1) / 2), nz - 1); c < nz; c += stride) centres.push(c);
  const last = centres[centres.length - 1]!;
  if (last + h < nz - 1) centres.push(Math.max(nz - 1 - h, last + 1));
  return centres;
}

/**
 * Class index per pixel of probabilities [N, C, H, W] → flat [N, H, W], first maximum on ties (NumPy
 * argmax). Uint8Array for up to 256 classes, else Int32Array.
 */
export function argmaxClasses(probs: HostTensor<'float32'>): Uint8Array | Int32Array {
  if (probs.shape.length !== 4)
    throw new MasamError(`argmaxClasses: expected [N, C, H, W], got [${probs.shape.join(', ')}]`);
  const [n, classes, h, w] = probs.shape as [number, number, number, number];
  const plane = h * w;
  const data = probs.data;
  const out = classes <= 256 ? new Uint8Array(n * plane) : new Int32Array(n * plane);
  for (let z = 0; z < n; z++) {
    const base = z * classes * plane;
    for (let p = 0; p < plane; p++) {
      let best = 0;
      let bestV = data[base + p]!;
      for (let c = 1; c < classes; c++) {
        const v = data[base + c * plane + p]!;
        if (v > bestV) {
          best = c;
          bestV = v;
        }
      }
      out[z * plane + p] = best;
    }
  }
  return out;
}

/**
 * Puts per-slice planes [nz, H, W] (e.g. argmaxClasses output) back into a volume with `reference`'s
 * geometry, undoing `orientation` (the inverse of spec 8.1; the official code writes an identity affine,
 * we keep the source geometry).
 */
export function planesToVolume(
  planes: Uint8Array,
  reference: GeometryLike,
  orientation?: SliceOrientation,
): Volume<'uint8'>;
export function planesToVolume(
  planes: Int32Array,
  reference: GeometryLike,
  orientation?: SliceOrientation,
): Volume<'int32'>;
export function planesToVolume(
  planes: Float32Array,
  reference: GeometryLike,
  orientation?: SliceOrientation,
): Volume<'float32'>;
export function planesToVolume(
  planes: Uint8Array | Int32Array | Float32Array,
  reference: GeometryLike,
  orientation: SliceOrientation = 'official',
): Volume {
  const { nx, ny, nz } = dims(reference.shape);
  const plane = nx * ny;
  if (planes.length !== nz * plane) {
    throw new MasamError(`planesToVolume: ${planes.length} values do not fill ${nz} planes of ${nx}×${ny}`);
  }
  const data = planes.slice();
  for (let z = 0; z < nz; z++) {
    const src = z * plane;
    if (orientation === 'official')
      for (let p = 0; p < plane; p++) data[src + plane - 1 - p] = planes[src + p]!;
    else
      for (let r = 0; r < nx; r++)
        for (let c = 0; c < ny; c++) data[src + r + nx * c] = planes[src + r * ny + c]!;
  }
  const dtype = planes instanceof Uint8Array ? 'uint8' : planes instanceof Int32Array ? 'int32' : 'float32';
  return {
    data,
    dtype,
    shape: [nx, ny, nz],
    spacing: reference.spacing.slice(0, 3),
    affine: reference.affine,
  };
}
