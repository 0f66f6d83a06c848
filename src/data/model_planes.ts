// The one path from a volume to the model's input, for training and inference alike (issue 13): the
// modality check, per-modality intensity handling (masam-spec.md 8.2–8.4), the in-plane resize to S×S
// (SciPy zoom, 8.5) and the D-slice input stacks [D, C, S, S] with the official edge replication and
// orientation (8.1, 10.1–10.2). Inference (infer/stacks.ts, infer/segment.ts) sweeps these stacks; the
// training cache (train/slice_cache.ts) holds the same grid and augments the same stacks. Browser-safe.
//
// Axes. Stacks run along the volume's third voxel axis k (index 2): the slice axis of axial CT/MRI as
// stored, and the frame axis of a frames volume [W, H, T, 3]. No reorientation is applied (nibabel's
// get_fdata order, spec 8.1), so a volume stored sagittally is cut into sagittal stacks.
// Orientation. The grid keeps the stored layout (i fastest); each plane is cut in the 'official'
// orientation of data/slices.ts, out[r, c] = vol[nx−1−c, ny−1−r] (H = ny, W = nx), which the released
// weights need (spec 8.1, quirk 12).
import { FormatError, MasamError } from '../core/errors.js';
import { type HostTensor, hostTensor } from '../core/host_tensor.js';
import type { Volume } from '../io/volume.js';
import {
  CT_WINDOW,
  type Modality,
  countNonFinite,
  finiteIntensities,
  nonFinitePolicy,
  normalizeCtStack,
  normalizeMriVolume,
  normalizeStack,
  normalizeVideo,
} from './intensity.js';
import { extractStack, repeatChannels, type VolumeLike } from './slices.js';
import { zoomToShape } from './zoom.js';

/** Voxel counts of an input volume: in-plane nx × ny, nz slices (frames), nc channels (1 grey, 3 RGB). */
export interface InputDims {
  readonly nx: number;
  readonly ny: number;
  readonly nz: number;
  readonly nc: 1 | 3;
}

/** How a model wants its planes: the modality's intensity recipe and the input side S. */
export interface PlaneSpec {
  readonly modality: Modality;
  /** CT intensity window in HU; default CT_WINDOW. */
  readonly window?: readonly [number, number];
  /** S, the model's input side. */
  readonly size: number;
}

/** How a model wants its stacks: D slices of C channels. */
export interface StackShape {
  /** D, slices per stack (odd). */
  readonly depth: number;
  /** Input channels of the model (3 for SAM). */
  readonly channels: number;
}

const MODALITY_NAMES: Readonly<Record<Modality, string>> = {
  ct: 'CT (a grey 3D volume)',
  mri: 'MRI (a grey 3D volume)',
  video: 'video (RGB frames, a [W, H, T, 3] volume)',
};

/** NIfTI intent codes and datatypes that mark colour voxels (nifti1.h: RGB_VECTOR, RGBA_VECTOR, RGB24, RGBA32). */
const NIFTI_RGB_INTENTS = new Set([2003, 2004]);
const NIFTI_RGB_DATATYPES = new Set([128, 2304]);

/** Whether a [W, H, T, 3] volume is known to hold colour frames: read from frames, a video phantom or an RGB NIfTI. */
function isKnownRgb(volume: Pick<Volume, 'source'>): boolean {
  const source = volume.source;
  if (source?.format === 'frames') return true;
  if (source?.format === 'phantom') return source.header?.['modality'] === 'video';
  const h = source?.format === 'nifti' ? source.header : undefined;
  return NIFTI_RGB_INTENTS.has(Number(h?.['intentCode'])) || NIFTI_RGB_DATATYPES.has(Number(h?.['datatype']));
}

/**
 * What a volume holds, in words, from its shape and source: 'a grey 3D volume [..] (CT or MRI)',
 * 'RGB frames [..] (video)' only for frames known to be colour (a 4th axis of 3 alone is not: a 4D NIfTI
 * of 3 volumes or channels has it too), else 'a 4D volume [..] (n volumes or channels)'.
 */
export function describeVolumeContent(volume: Pick<Volume, 'shape' | 'source'>): string {
  const shape = volume.shape;
  const s = `[${shape.join(', ')}]`;
  if (shape.length === 3 || (shape.length === 4 && shape[3] === 1))
    return `a grey 3D volume ${s} (CT or MRI)`;
  if (shape.length === 4 && shape[3] === 3 && isKnownRgb(volume)) return `RGB frames ${s} (video)`;
  if (shape.length === 4) return `a 4D volume ${s} (${shape[3]} volumes or channels)`;
  return `a ${shape.length}D volume ${s}`;
}

/**
 * Checks that `volume` is what a model for `modality` takes — a grey 3D volume [nx, ny, nz] (or
 * [nx, ny, nz, 1]) for CT and MRI, RGB frames [W, H, T, 3] for video — and returns its dimensions.
 * @param source names the input in the error
 * @throws MasamError naming `source`, the model's modality and what the input is
 */
export function checkModality(
  volume: Pick<Volume, 'shape' | 'source'>,
  modality: Modality,
  source: string,
): InputDims {
  const shape = volume.shape;
  const rgb = shape.length === 4 && shape[3] === 3;
  const grey = shape.length === 3 || (shape.length === 4 && shape[3] === 1);
  if ((modality === 'video' && !rgb) || (modality !== 'video' && !grey)) {
    throw new MasamError(
      `${source}: the model is for ${MODALITY_NAMES[modality]}, but the input is ${describeVolumeContent(volume)}`,
    );
  }
  const [nx, ny, nz] = shape as [number, number, number];
  if (!(nx >= 1 && ny >= 1 && nz >= 1)) {
    throw new MasamError(`${source}: empty volume [${shape.join(', ')}]`);
  }
  // One slice is a 2D image: the 3D adapters would only see copies of it, an input no model trained on.
  if (nz === 1) {
    throw new MasamError(
      `${source}: a 2D image [${shape.join(', ')}] (one ${modality === 'video' ? 'frame' : 'slice'}): ` +
        'MA-SAM segments 3D volumes and frame sequences (stacks of neighbouring slices); give the whole volume',
    );
  }
  return { nx, ny, nz, nc: rgb ? 3 : 1 };
}

/** A volume brought onto the model's grid, ready to be cut into input stacks. */
export interface ModelGrid {
  /** [S, S, nz] (grey) or [S, S, nz, 3] (RGB), i fastest, with the intensities stacks start from. */
  readonly volume: VolumeLike;
  /** The input's dimensions. */
  readonly input: InputDims;
  readonly modality: Modality;
  /** CT intensity window in HU. */
  readonly window: readonly [number, number];
  /** S, the model's input side. */
  readonly size: number;
}

/** Plane `p` (i fastest) of `data` as float64 [ny, nx], int64 included. */
function planeFloat64(data: Volume['data'], p: number, plane: number): Float64Array {
  const sub = data.subarray(p * plane, (p + 1) * plane);
  return sub instanceof BigInt64Array ? Float64Array.from(sub, Number) : Float64Array.from(sub);
}

/**
 * Zooms every plane [ny, nx] of `data` (`planes` of them, i fastest) to [S, S] with SciPy's zoom of
 * `order` (corner-aligned, spec 8.5), one plane at a time to bound memory; a 2D zoom per plane equals the
 * scripts' 3D zoom with factor 1 along k. uint8 data (video frames, labels) stays uint8, rounded and clipped
 * as SciPy does (spec 8.4); anything else is zoomed as float and stored as float32, not rounded to its
 * integer type.
 */
function resizePlanes(
  data: Volume['data'],
  nx: number,
  ny: number,
  planes: number,
  size: number,
  order: 0 | 3,
): Float32Array | Uint8Array {
  const inPlane = nx * ny;
  const outPlane = size * size;
  if (data instanceof Uint8Array) {
    const out = new Uint8Array(planes * outPlane);
    for (let p = 0; p < planes; p++) {
      const src = hostTensor('uint8', [ny, nx], data.slice(p * inPlane, (p + 1) * inPlane));
      out.set(zoomToShape(src, [size, size], { order }).data, p * outPlane);
    }
    return out;
  }
  const out = new Float32Array(planes * outPlane);
  for (let p = 0; p < planes; p++) {
    const src = hostTensor('float64', [ny, nx], planeFloat64(data, p, inPlane));
    out.set(zoomToShape(src, [size, size], { order }).data, p * outPlane);
  }
  return out;
}

/** Options of prepareModelGrid and nonFiniteVoxelWarning. */
export interface GridOptions {
  /** Refuse a volume holding NaN or ±Inf voxels instead of replacing them (data/intensity.ts policy). */
  readonly strict?: boolean;
}

/**
 * The NaN/±Inf voxels of `volume` under the policy of data/intensity.ts: undefined when there are none,
 * else a warning naming `source`, the count and what replaces them (for the caller to print).
 * @throws FormatError naming `source` and the count with `strict`
 */
export function nonFiniteVoxelWarning(
  volume: Pick<Volume, 'data'>,
  spec: Pick<PlaneSpec, 'modality' | 'window'>,
  source: string,
  options: GridOptions = {},
): string | undefined {
  const count = countNonFinite(volume.data);
  if (count === 0) return undefined;
  const what = `${count} NaN/Inf voxel${count === 1 ? '' : 's'}`;
  if (options.strict) throw new FormatError(source, `${what} (refused in strict mode)`);
  return `${source}: ${what} replaced (${nonFinitePolicy(spec.modality, spec.window ?? CT_WINDOW)})`;
}

/**
 * Brings `volume` onto the model's grid (spec 8.2–8.4), NaN/±Inf voxels replaced first (data/intensity.ts;
 * before the zoom, whose spline would spread them over the plane) or, with `options.strict`, refused:
 * - CT: HU kept; planes zoomed to S×S when needed (BTCV needs none). The HU window and the official
 *   per-stack normalisation run later, per stack (normalisedStack), so cubic overshoot is clipped by the window.
 * - MRI: the prostate script's per-volume normalisation (99th-percentile clip, min-max), then the zoom,
 *   as the script orders them; the online per-stack min-max follows in normalisedStack.
 * - video: RGB frames zoomed as uint8 (rounded, as the EndoVis script); /255 in normalisedStack.
 * @param source names the input in errors (modality check)
 */
export function prepareModelGrid(
  volume: Volume,
  spec: PlaneSpec,
  source = 'input',
  options: GridOptions = {},
): ModelGrid {
  const { modality, size } = spec;
  const dims = checkModality(volume, modality, source);
  if (options.strict) nonFiniteVoxelWarning(volume, spec, source, options);
  const { nx, ny, nz, nc } = dims;
  const window = spec.window ?? CT_WINDOW;
  let data: VolumeLike['data'];
  if (modality === 'mri') {
    const values = volume.data instanceof BigInt64Array ? Array.from(volume.data, Number) : volume.data;
    data = normalizeMriVolume(values); // replaces non-finite values itself
  } else {
    data = finiteIntensities(volume.data, modality, window);
  }
  if (nx !== size || ny !== size) data = resizePlanes(data, nx, ny, nz * nc, size, 3);
  return {
    volume: { shape: nc === 3 ? [size, size, nz, 3] : [size, size, nz], data },
    input: dims,
    modality,
    window,
    size,
  };
}

/** Labels on the model's grid: uint8 [S, S, nz], i fastest. */
export interface LabelGrid extends VolumeLike {
  readonly data: Uint8Array;
}

/**
 * A label volume on `grid`: its planes zoomed to S×S with SciPy's nearest zoom (order 0), the way the
 * image's planes were zoomed, so label and image stacks line up voxel for voxel.
 * @throws MasamError naming `source` when the label's grid is not the image's
 */
export function prepareLabelGrid(label: Volume, grid: ModelGrid, source = 'label'): LabelGrid {
  const { nx, ny, nz } = grid.input;
  const [lx, ly, lz, lc] = label.shape;
  if (lx !== nx || ly !== ny || lz !== nz || (lc ?? 1) !== 1) {
    throw new MasamError(
      `${source}: label [${label.shape.join(', ')}] and image [${nx}, ${ny}, ${nz}] grids differ`,
    );
  }
  const size = grid.size;
  let data = label.data instanceof Uint8Array ? label.data : Uint8Array.from(label.data as ArrayLike<number>);
  if (nx !== size || ny !== size) data = resizePlanes(data, nx, ny, nz, size, 0) as Uint8Array;
  return { shape: [size, size, nz], data };
}

/**
 * The stack centred at slice `centre` as the modality's normaliser leaves it, before the channel repeat:
 * slices centre − h … centre + h clamped to the volume (edge replication, spec 8.1) in the official
 * orientation, normalised (CT: HU window and the official reader's per-stack min-max, spec 8.2; MRI: the
 * same reader, which reduces to per-stack min-max, 8.3; video: RGB/255, 8.4). Training augments here.
 * @returns float32 [D, S, S] (grey) or [D, 3, S, S] (RGB)
 */
export function normalisedStack(grid: ModelGrid, centre: number, depth: number): HostTensor<'float32'> {
  const stack = extractStack(grid.volume, centre, { depth, orientation: 'official' });
  let values: Float32Array;
  if (grid.modality === 'ct') values = normalizeCtStack(stack.data, { window: grid.window });
  else if (grid.modality === 'mri') values = normalizeStack(stack.data, 'mri');
  else values = normalizeVideo(stack.data);
  return hostTensor('float32', stack.shape, values);
}

/**
 * A normalised stack [D, S, S] or [D, 3, S, S] (normalisedStack, augmented or not) as the model's input,
 * grey slices replicated into the model's channels.
 * @returns float32 [D, C, S, S], i.e. D·C·S·S values
 * @throws MasamError when the stack's channels are not the model's
 */
export function stackInput(stack: HostTensor<'float32'>, channels: number): Float32Array {
  const input = repeatChannels(stack, channels);
  if (input.shape[1] !== channels) {
    throw new MasamError(
      `model input: the model takes ${channels} channels, the input has ${input.shape[1]}`,
    );
  }
  return input.data;
}

/**
 * The model input for the stack centred at slice `centre`: normalisedStack then stackInput.
 * @returns float32 [1, D, C, S, S] (C = 3), i.e. D·C·S·S values, stack-major
 */
export function modelStack(grid: ModelGrid, centre: number, shape: StackShape): Float32Array {
  return stackInput(normalisedStack(grid, centre, shape.depth), shape.channels);
}

/** The labels of the stack centred at `centre` on a label grid (prepareLabelGrid), as float32 [D, S, S]. */
export function labelStack(labels: VolumeLike, centre: number, depth: number): HostTensor<'float32'> {
  return extractStack(labels, centre, { depth, orientation: 'official' });
}
