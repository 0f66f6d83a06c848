// Reads an MSD / nnU-Net v2 dataset folder (dataset.json, imagesTr/, labelsTr/) into volumes, verifying
// every image/label pair; errors name the case and the problem (spec §8, issue 4 item 7).
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MasamError } from '../core/errors.js';
import {
  type CaseFiles,
  DatasetError,
  type DatasetInfo,
  listCases,
  parseDatasetJson,
  verifyPair,
} from '../data/dataset.js';
import type { Modality } from '../data/intensity.js';
import type { Volume } from '../io/volume.js';
import { readVolume } from './volume_files.js';

export interface LabelledCase {
  readonly id: string;
  readonly image: Volume;
  readonly label: Volume;
}

export interface Dataset {
  readonly root: string;
  readonly info: DatasetInfo;
  readonly cases: readonly CaseFiles[];
}

/** A dataset folder's dataset.json, parsed and checked; errors name the folder or the file. */
export async function readDatasetInfo(root: string): Promise<DatasetInfo> {
  const jsonPath = join(root, 'dataset.json');
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch {
    throw new MasamError(`${root}: not an MSD / nnU-Net dataset (no dataset.json)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new MasamError(`${jsonPath}: not valid JSON (${(err as Error).message})`);
  }
  return parseDatasetJson(json, jsonPath);
}

/** The file names in one of a dataset's folders (imagesTr, labelsTr, imagesTs); none if it is missing. */
export function listDatasetFolder(root: string, dir: string): Promise<string[]> {
  return readdir(join(root, dir)).catch(() => []);
}

/** dataset.json and the case list of a dataset folder (no volumes read yet). */
export async function openDataset(root: string): Promise<Dataset> {
  const info = await readDatasetInfo(root);
  const cases = listCases(
    info,
    {
      imagesTr: await listDatasetFolder(root, 'imagesTr'),
      labelsTr: await listDatasetFolder(root, 'labelsTr'),
    },
    root,
  ).filter((c) => c.label !== null);
  if (cases.length === 0) throw new MasamError(`${root}: no labelled training cases in imagesTr/labelsTr`);
  return { root, info, cases };
}

/** The modality a dataset's channel names suggest (CT, MRI names, or three RGB channels). */
export function guessModality(info: DatasetInfo): Modality | null {
  const names = info.channels.map((c) => c.toLowerCase());
  if (names.length === 3 || names.some((n) => ['r', 'g', 'b', 'rgb', 'video'].includes(n))) return 'video';
  if (names.length === 1 && names[0] === 'ct') return 'ct';
  if (names.length >= 1 && names.every((n) => /mr|t1|t2|adc|flair|dwi/.test(n))) return 'mri';
  return null;
}

/** Absolute paths of a case's channel files and label (names from listCases may omit the folder). */
export function casePaths(ds: Dataset, c: CaseFiles): { images: string[]; label: string } {
  const under = (dir: string, f: string) => join(ds.root, f.includes('/') ? f : join(dir, f));
  return { images: c.images.map((f) => under('imagesTr', f)), label: under('labelsTr', c.label!) };
}

/** Reads and verifies one case; several channel files are stacked on a 4th axis ([nx, ny, nz, C]). */
export async function readCase(ds: Dataset, c: CaseFiles): Promise<LabelledCase> {
  const paths = casePaths(ds, c);
  const channels = await Promise.all(paths.images.map((p) => readVolume(p)));
  const label = await readVolume(paths.label);
  const problems = verifyPair(c.id, channels, label, ds.info.labels);
  if (problems.length > 0) throw new DatasetError(ds.root, problems);
  return { id: c.id, image: channels.length === 1 ? channels[0]! : stackChannels(channels), label };
}

/** Channel volumes of one grid as one float32 volume [nx, ny, nz, C] (training and segment stack alike). */
export function stackChannels(channels: readonly Volume[]): Volume<'float32'> {
  const first = channels[0]!;
  const n = first.data.length;
  const data = new Float32Array(n * channels.length);
  channels.forEach((v, ch) => {
    for (let i = 0; i < n; i++) data[ch * n + i] = Number(v.data[i]);
  });
  return { ...first, dtype: 'float32', shape: [...first.shape.slice(0, 3), channels.length], data };
}
