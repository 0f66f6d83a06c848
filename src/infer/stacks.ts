// An exported model's view of a volume: its metadata (ModelInfo: modality, CT window, S, D, channels) as
// the plane and stack shapes of data/model_planes.ts, the one path that prepares a volume for the model in
// training and inference alike. Browser-safe: host arrays only.
import { MasamError } from '../core/errors.js';
import {
  type GridOptions,
  type ModelGrid,
  type PlaneSpec,
  type StackShape,
  modelStack as gridStack,
  nonFiniteVoxelWarning as gridNonFiniteWarning,
  prepareModelGrid as prepareGrid,
} from '../data/model_planes.js';
import type { Volume } from '../io/volume.js';
import type { ModelInfo } from './model_info.js';

export {
  type GridOptions,
  type InputDims,
  checkModality,
  describeVolumeContent,
} from '../data/model_planes.js';

/** A volume on the model's grid with the model's stack shape: what VolumeSegmenter sweeps. */
export interface StackGrid extends ModelGrid, StackShape {}

/** The planes `info`'s model takes: its modality, CT window and input side. */
export function planeSpec(info: ModelInfo): PlaneSpec {
  const { modality, window } = info.preprocessing;
  return { modality, ...(window && { window }), size: info.imageSize };
}

/**
 * The stacks `info`'s model takes: D slices (odd, so that a stack has a centre) of its input channels.
 * @throws MasamError for an even or non-positive D
 */
export function stackShape(info: ModelInfo): StackShape {
  const depth = info.slices;
  if (!Number.isInteger(depth) || depth < 1 || depth % 2 === 0) {
    throw new MasamError(`model: ${depth} slices per stack; volumetric inference needs an odd count`);
  }
  return { depth, channels: info.config.in_chans };
}

/**
 * The NaN/±Inf voxels of `volume` under the policy of data/intensity.ts for `info`'s modality: undefined
 * when there are none, else a warning naming `source` (data/model_planes.ts, nonFiniteVoxelWarning).
 * @throws FormatError naming `source` and the count with `strict`
 */
export function nonFiniteVoxelWarning(
  volume: Pick<Volume, 'data'>,
  info: ModelInfo,
  source: string,
  options: GridOptions = {},
): string | undefined {
  return gridNonFiniteWarning(volume, info.preprocessing, source, options);
}

/**
 * Brings `volume` onto the grid of `info`'s model (data/model_planes.ts, prepareModelGrid), with the
 * model's stack shape.
 * @param source names the input in errors (modality check)
 */
export function prepareModelGrid(
  volume: Volume,
  info: ModelInfo,
  source = 'input',
  options: GridOptions = {},
): StackGrid {
  const shape = stackShape(info);
  return { ...prepareGrid(volume, planeSpec(info), source, options), ...shape };
}

/** The model input [1, D, C, S, S] for the stack centred at slice `centre` (data/model_planes.ts). */
export function modelStack(grid: StackGrid, centre: number): Float32Array {
  return gridStack(grid, centre, grid);
}
