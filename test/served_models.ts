// The tiny served models of the MONAI Label protocol tests (Slicer's and OHIF's clients): an automatic and a
// point-prompted model exported from one seeded small MA-SAM, the phantom CT they segment, the multipart
// body those clients send, and the labels the same model gives when run directly, which answers must equal.
import { join } from 'node:path';
import { loadMaSam } from '../src/api/model.js';
import { openServedModels } from '../src/cli/commands/serve.js';
import type { OpenedModel } from '../src/cli/model_files.js';
import { Rng } from '../src/core/rng.js';
import { ctPhantom } from '../src/data/phantom.js';
import { promptsForVolume } from '../src/infer/prompts.js';
import { VolumeSegmenter } from '../src/infer/segment.js';
import type { Volume } from '../src/io/volume.js';
import type { ServedModel } from '../src/serve/model_runner.js';
import { TINY_OVERRIDES } from './tiny_model.js';

const CLASSES = ['background', 'liver', 'spleen'];

/**
 * Exports 'auto' (automatic) and 'boxed' (one point prompt) under `dir`, from the same seeded tiny model, and
 * opens them as `masam serve` does; release `opened` when done.
 */
export async function exportTinyServedModels(
  dir: string,
): Promise<{ models: ServedModel[]; opened: OpenedModel[] }> {
  const model = await loadMaSam({
    config: { preset: 'small', img_size: 32, num_classes: 2, ...TINY_OVERRIDES },
    seed: 3,
  });
  const common = { slices: 3, classNames: CLASSES, preprocessing: { modality: 'ct' as const } };
  await model.exportSplit(join(dir, 'auto'), common);
  await model.exportSplit(join(dir, 'boxed'), { ...common, prompts: { points: 1 } });
  return openServedModels(dir, 1);
}

/** The phantom CT (40 × 36 × 6 voxels) the served models segment. */
export function tinyCt(): Volume {
  return ctPhantom(new Rng(5), { size: [40, 36, 6] }).image;
}

/**
 * A multipart body as MONAI Label's clients (Slicer's module, OHIF's MonaiLabelClient) send it: `params`
 * JSON, then files.
 */
export function multipartForm(params: unknown, files: Record<string, [Uint8Array, string]> = {}): FormData {
  const body = new FormData();
  body.append('params', JSON.stringify(params));
  for (const [field, [bytes, name]] of Object.entries(files))
    body.append(field, new Blob([new Uint8Array(bytes)]), name);
  return body;
}

/** The labels of `ct` by the served model `name` run directly (VolumeSegmenter), with MONAI Label prompts. */
export async function segmentDirect(
  ct: Volume,
  models: readonly ServedModel[],
  name: string,
  prompts?: unknown,
): Promise<Uint8Array> {
  const m = models.find((x) => x.name === name);
  if (m === undefined)
    throw new Error(`no served model '${name}' among ${models.map((x) => x.name).join(', ')}`);
  const seg = new VolumeSegmenter(ct, m.model);
  const p = prompts ? promptsForVolume(prompts, ct, m.info, 'prompts', 'ct') : undefined;
  return (await seg.segment(p ? { prompts: p } : {})).labels.data as Uint8Array;
}
