// Inputs of the viewer's end-to-end test, made on the spot: a small CT phantom as NIfTI, a volume with a
// marker on the patient's left only (for the display convention) and a small MA-SAM exported to ONNX from a
// seeded random initialisation (no checkpoint), plain, box-prompted and with point slots, as one graph or
// split (encoder.onnx + decoder.onnx), written into `dir`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMaSam } from '../../src/api/model.js';
import { Rng } from '../../src/core/rng.js';
import { makePhantom } from '../../src/data/phantom.js';
import type { PromptSpec } from '../../src/data/prompts.js';
import { serializeNifti } from '../../src/io/nifti.js';
import { IDENTITY_AFFINE } from '../../src/io/volume.js';

/** Four organs of BTCV's thirteen: the exported model's class names (background first). */
export const CLASS_NAMES = ['background', 'spleen', 'right_kidney', 'liver', 'aorta'];

export interface ViewerFixtures {
  readonly volumePath: string;
  readonly modelPath: string;
}

/**
 * A 44×36×9 CT phantom (not the model's 32² grid, so both zooms run; 9 slices → 9 stacks of 5) and a
 * 'small' MA-SAM at img_size 32 with 2 blocks, exported with CT preprocessing.
 */
export async function makeViewerFixtures(dir: string, seed = 11): Promise<ViewerFixtures> {
  const volumePath = writePhantom(join(dir, 'phantom_ct.nii.gz'), seed, 9);
  const modelPath = join(dir, 'small.onnx');
  await exportSmallModel(modelPath, seed);
  return { volumePath, modelPath };
}

/** A 44×36×`slices` CT phantom written as NIfTI to `path`. */
export function writePhantom(path: string, seed: number, slices: number): string {
  const phantom = makePhantom('ct', new Rng(seed), { size: [44, 36, slices] });
  writeFileSync(path, serializeNifti(phantom.image, { gzip: true }));
  return path;
}

/** The left-marker volume: its size and the voxels (i range) of the marker. */
export const LEFT_MARKER = { shape: [40, 32, 6] as const, marker: { i: [4, 11], j: [12, 19] } as const };

/**
 * A 40×32×6 volume with a RAS identity affine (x = i mm, so +i points to the patient's right): a body (an
 * ellipse filling the slice) whose value runs from 100 at j = 0 to 700 at the last j — the same on both
 * sides, so the grey scale has a range and the body is symmetric left to right — and a marker of value 1000
 * at i 4..11, j 12..19 on every slice: on the patient's left only. Outside the body is 0.
 */
export function writeLeftMarkerVolume(dir: string): string {
  const [nx, ny, nz] = LEFT_MARKER.shape;
  const { i, j } = LEFT_MARKER.marker;
  const data = new Float32Array(nx * ny * nz);
  for (let k = 0; k < nz; k++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const inBody = ((x - (nx - 1) / 2) / (nx / 2)) ** 2 + ((y - (ny - 1) / 2) / (ny / 2)) ** 2 <= 1;
        const inMarker = x >= i[0] && x <= i[1] && y >= j[0] && y <= j[1];
        data[x + nx * (y + ny * k)] = inMarker ? 1000 : inBody ? 100 + (600 * y) / (ny - 1) : 0;
      }
    }
  }
  const path = join(dir, 'left_marker.nii.gz');
  const volume = {
    dtype: 'float32' as const,
    shape: [nx, ny, nz],
    spacing: [1, 1, 1],
    affine: IDENTITY_AFFINE,
    data,
  };
  writeFileSync(path, serializeNifti(volume, { gzip: true }));
  return path;
}

/**
 * The same small MA-SAM exported as the box-prompted variant (inputs `image` and `boxes`; metadata
 * 'masam.prompts' = {"points": points}), written to `dir`/small_box.onnx (no point slots) or
 * `dir`/small_points<points>.onnx.
 */
export async function makePromptedModel(dir: string, seed = 11, points = 0): Promise<string> {
  const modelPath = join(dir, points > 0 ? `small_points${points}.onnx` : 'small_box.onnx');
  await exportSmallModel(modelPath, seed, { points });
  return modelPath;
}

/**
 * The same small MA-SAM exported as a split model (MaSamModel.exportSplit) into the folder `dir`
 * (encoder.onnx + decoder.onnx), box-prompted when `prompts` is given, computing in float16 with
 * `precision: 'fp16'`.
 */
export async function makeSplitModel(
  dir: string,
  seed = 11,
  prompts?: PromptSpec,
  precision?: 'fp16',
): Promise<string> {
  const model = await smallModel(seed);
  await model.exportSplit(dir, {
    slices: 5,
    classNames: CLASS_NAMES,
    preprocessing: { modality: 'ct' },
    ...(prompts && { prompts }),
    ...(precision && { precision }),
  });
  return dir;
}

async function exportSmallModel(path: string, seed: number, prompts?: PromptSpec): Promise<void> {
  const model = await smallModel(seed);
  await model.exportOnnx(path, {
    slices: 5,
    classNames: CLASS_NAMES,
    preprocessing: { modality: 'ct' },
    ...(prompts && { prompts }),
  });
}

/** A 'small' MA-SAM at img_size 32 with 2 blocks, seeded random weights. */
function smallModel(seed: number) {
  return loadMaSam({
    config: {
      preset: 'small',
      img_size: 32,
      depth: 2,
      global_attn_indexes: [1],
      num_classes: CLASS_NAMES.length - 1,
    },
    seed,
  });
}
