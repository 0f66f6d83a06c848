// Synthetic datasets for tests, demos and smoke-training: one phantom per modality (CT abdomen, prostate
// MRI, surgical video) and a whole dataset in the nnU-Net v2 / MSD layout as in-memory objects, which the
// CLI writes to disk. Deterministic from a seed.
import { MasamError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Volume } from '../io/volume.js';
import { toDatasetJson } from './dataset.js';
import { BTCV_LABELS, PROSTATE_LABELS } from './labels.js';
import { ctPhantom } from './phantom_ct.js';
import { mriPhantom } from './phantom_mri.js';
import type { Phantom, PhantomOptions } from './phantom_shapes.js';
import { VIDEO_PHANTOM_LABELS, videoPhantom } from './phantom_video.js';

export type { Phantom, PhantomOptions } from './phantom_shapes.js';
export { ctPhantom } from './phantom_ct.js';
export { mriPhantom } from './phantom_mri.js';
export { VIDEO_PHANTOM_LABELS, videoPhantom } from './phantom_video.js';

export type PhantomModality = 'ct' | 'mri' | 'video';

/**
 * One synthetic case of `modality`, drawn from `rng`.
 * @example const { image, label, labels } = makePhantom('ct', new Rng(0), { size: [64, 64, 24] });
 */
export function makePhantom(modality: PhantomModality, rng: Rng, options: PhantomOptions = {}): Phantom {
  switch (modality) {
    case 'ct':
      return ctPhantom(rng, options);
    case 'mri':
      return mriPhantom(rng, options);
    case 'video':
      return videoPhantom(rng, options);
    default:
      throw new MasamError(`makePhantom: unknown modality '${String(modality)}' (ct, mri or video)`);
  }
}

/**
 * The channels of a 4D channel-last volume [nx, ny, nz, C] as C volumes [nx, ny, nz] (nnU-Net stores
 * each channel in its own `_XXXX` file). A 3D volume comes back as the only channel.
 */
export function splitChannels(volume: Volume): Volume[] {
  if (volume.shape.length === 3) return [volume];
  const [nx, ny, nz, nc] = volume.shape as [number, number, number, number];
  const n = nx * ny * nz;
  return Array.from({ length: nc }, (_, c) => ({
    ...volume,
    data: volume.data.slice(c * n, (c + 1) * n),
    shape: [nx, ny, nz],
    spacing: volume.spacing.slice(0, 3),
  }));
}

/** Label maps of the phantoms (the same for every case). */
export const PHANTOM_LABELS: Readonly<Record<PhantomModality, Readonly<Record<string, number>>>> = {
  ct: BTCV_LABELS,
  mri: PROSTATE_LABELS,
  video: VIDEO_PHANTOM_LABELS,
};

const CHANNELS: Readonly<Record<PhantomModality, readonly string[]>> = {
  ct: ['CT'],
  mri: ['T2'],
  video: ['R', 'G', 'B'],
};

export interface PhantomDatasetOptions {
  readonly modality: PhantomModality;
  /** Cases in imagesTr/labelsTr; default 4. */
  readonly numTraining?: number;
  /** Cases in imagesTs (their labels go to labelsTs, which nnU-Net ignores); default 1. */
  readonly numTest?: number;
  readonly size?: readonly [number, number, number];
  /** Seed of the whole dataset; each case draws from its own split stream. Default 0. */
  readonly seed?: number;
  /** dataset.json name; default 'Phantom' + modality. */
  readonly name?: string;
}

export interface PhantomDataset {
  /** dataset.json content, nnU-Net v2 form. */
  readonly datasetJson: Record<string, unknown>;
  /** Every file of the dataset, by path relative to the dataset folder (e.g. 'imagesTr/ct_000_0000.nii.gz'). */
  readonly files: readonly { readonly path: string; readonly volume: Volume }[];
  /** Case ids, training then test. */
  readonly trainingCases: readonly string[];
  readonly testCases: readonly string[];
}

/**
 * A whole synthetic dataset in the nnU-Net v2 layout: `imagesTr/{case}_{XXXX}.nii.gz` (one file per
 * channel: video's RGB becomes three channels), `labelsTr/{case}.nii.gz`, and the same under
 * imagesTs/labelsTs for test cases. Nothing is written; the caller serialises the volumes.
 */
export function phantomDataset(options: PhantomDatasetOptions): PhantomDataset {
  const { modality } = options;
  const numTraining = options.numTraining ?? 4;
  const numTest = options.numTest ?? 1;
  if (!Number.isInteger(numTraining) || numTraining < 0 || !Number.isInteger(numTest) || numTest < 0) {
    throw new MasamError(
      `phantomDataset: case counts must be non-negative integers (${numTraining}, ${numTest})`,
    );
  }
  const rng = new Rng(options.seed ?? 0);
  const files: { path: string; volume: Volume }[] = [];
  const ids = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => `${modality}_${String(from + i).padStart(3, '0')}`);
  const trainingCases = ids(0, numTraining);
  const testCases = ids(numTraining, numTest);
  const add = (id: string, images: string, labelDir: string) => {
    const p = makePhantom(modality, rng.split(), options.size ? { size: options.size } : {});
    splitChannels(p.image).forEach((volume, c) => {
      files.push({ path: `${images}/${id}_${String(c).padStart(4, '0')}.nii.gz`, volume });
    });
    files.push({ path: `${labelDir}/${id}.nii.gz`, volume: p.label });
  };
  for (const id of trainingCases) add(id, 'imagesTr', 'labelsTr');
  for (const id of testCases) add(id, 'imagesTs', 'labelsTs');
  const datasetJson = toDatasetJson({
    name: options.name ?? `Phantom${modality === 'ct' ? 'CT' : modality === 'mri' ? 'MRI' : 'Video'}`,
    description: `Synthetic ${modality} phantoms generated by masam (seed ${options.seed ?? 0})`,
    channels: CHANNELS[modality],
    labels: PHANTOM_LABELS[modality],
    numTraining,
  });
  return { datasetJson, files, trainingCases, testCases };
}
