// The dataset integrity check on a folder: reads dataset.json and the folder listings, and hands
// data/dataset_check.ts a reader of the dataset's volumes. Used by `masam info <dataset>` and
// `masam train --check`.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MasamError } from '../core/errors.js';
import { parseDatasetJson } from '../data/dataset.js';
import { type DatasetCheck, type DatasetCheckOptions, checkDataset } from '../data/dataset_check.js';
import { readVolume } from './volume_files.js';

/**
 * Checks the MSD / nnU-Net dataset in folder `root` (see checkDataset): problems name their files
 * relative to `root`.
 * @throws MasamError when `root` has no readable dataset.json; DatasetError when dataset.json is invalid
 */
export async function checkDatasetFolder(
  root: string,
  options: DatasetCheckOptions = {},
): Promise<DatasetCheck> {
  const jsonPath = join(root, 'dataset.json');
  const text = await readFile(jsonPath, 'utf8').catch(() => {
    throw new MasamError(`${root}: not an MSD / nnU-Net dataset (no dataset.json)`);
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new MasamError(`${jsonPath}: not valid JSON (${(err as Error).message})`);
  }
  const info = parseDatasetJson(json, jsonPath);
  const list = (dir: string) => readdir(join(root, dir)).catch(() => [] as string[]);
  return checkDataset(
    info,
    { imagesTr: await list('imagesTr'), labelsTr: await list('labelsTr'), imagesTs: await list('imagesTs') },
    (file) => readVolume(join(root, file)),
    options,
  );
}
