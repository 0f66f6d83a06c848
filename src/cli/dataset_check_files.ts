// The dataset integrity check on a folder: reads dataset.json and the folder listings, and hands
// data/dataset_check.ts a reader of the dataset's volumes. Used by `masam info <dataset>` and
// `masam train --check`.
import { join } from 'node:path';
import { type DatasetCheck, type DatasetCheckOptions, checkDataset } from '../data/dataset_check.js';
import { listDatasetFolder, readDatasetInfo } from './dataset_files.js';
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
  const info = await readDatasetInfo(root);
  const list = (dir: string) => listDatasetFolder(root, dir);
  return checkDataset(
    info,
    { imagesTr: await list('imagesTr'), labelsTr: await list('labelsTr'), imagesTs: await list('imagesTs') },
    (file) => readVolume(join(root, file)),
    options,
  );
}
