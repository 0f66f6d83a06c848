// Inputs of the viewer's end-to-end test, made on the spot: a small CT phantom as NIfTI and a small MA-SAM
// exported to ONNX from a seeded random initialisation (no checkpoint), plain, box-prompted and with point
// slots, written into `dir`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMaSam } from '../../src/api/model.js';
import { Rng } from '../../src/core/rng.js';
import { makePhantom } from '../../src/data/phantom.js';
import type { PromptSpec } from '../../src/data/prompts.js';
import { serializeNifti } from '../../src/io/nifti.js';

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
  const phantom = makePhantom('ct', new Rng(seed), { size: [44, 36, 9] });
  const volumePath = join(dir, 'phantom_ct.nii.gz');
  writeFileSync(volumePath, serializeNifti(phantom.image, { gzip: true }));
  const modelPath = join(dir, 'small.onnx');
  await exportSmallModel(modelPath, seed);
  return { volumePath, modelPath };
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

async function exportSmallModel(path: string, seed: number, prompts?: PromptSpec): Promise<void> {
  const model = await loadMaSam({
    config: {
      preset: 'small',
      img_size: 32,
      depth: 2,
      global_attn_indexes: [1],
      num_classes: CLASS_NAMES.length - 1,
    },
    seed,
  });
  await model.exportOnnx(path, {
    slices: 5,
    classNames: CLASS_NAMES,
    preprocessing: { modality: 'ct' },
    ...(prompts && { prompts }),
  });
}
