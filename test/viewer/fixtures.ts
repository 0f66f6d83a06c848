// Inputs of the viewer's end-to-end test, made on the spot: a small CT phantom as NIfTI and a small MA-SAM
// exported to ONNX from a seeded random initialisation (no checkpoint), both written into `dir`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMaSam } from '../../src/api/model.js';
import { Rng } from '../../src/core/rng.js';
import { makePhantom } from '../../src/data/phantom.js';
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
  const modelPath = join(dir, 'small.onnx');
  await model.exportOnnx(modelPath, {
    slices: 5,
    classNames: CLASS_NAMES,
    preprocessing: { modality: 'ct' },
  });
  return { volumePath, modelPath };
}
