// What an exported masam model says about itself (ONNX metadata written by MaSamModel.exportOnnx): the
// config, class names and preprocessing. The CLI, the library and the browser viewer read it the same way.
import { MasamError } from '../core/errors.js';
import type { PromptSpec } from '../data/prompts.js';
import type { MaSamConfig } from '../models/sam/config.js';

/** How the training data were prepared; inference repeats it (spec §8). */
export interface Preprocessing {
  /** 'ct' (HU window −200..250 and the official normalisation), 'mri' or 'video' (RGB/255). */
  readonly modality: 'ct' | 'mri' | 'video';
  /** CT intensity window in HU (default −200..250). */
  readonly window?: readonly [number, number];
}

export interface ModelInfo {
  readonly config: MaSamConfig;
  /** num_classes + 1 names, background first. */
  readonly classNames: readonly string[];
  readonly preprocessing: Preprocessing;
  /** D: slices per stack the graph takes. */
  readonly slices: number;
  /** Model input side S (img_size). */
  readonly imageSize: number;
  /** Present for a box-prompted model (spec §11): its graph takes boxes (and point slots). */
  readonly prompts?: PromptSpec;
}

/** Reads the `masam.*` metadata properties of an exported model; `source` names the file in errors. */
export function modelInfoFromMetadata(metadata: Readonly<Record<string, string>>, source: string): ModelInfo {
  const get = (key: string): unknown => {
    const raw = metadata[key];
    if (raw === undefined)
      throw new MasamError(`${source}: not a masam model (metadata '${key}' is missing)`);
    try {
      return JSON.parse(raw);
    } catch {
      throw new MasamError(`${source}: metadata '${key}' is not valid JSON`);
    }
  };
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const count = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
  const config = get('masam.config') as MaSamConfig;
  if (!isObject(config) || !count(config.img_size, 1) || !count(config.num_classes, 1)) {
    throw new MasamError(`${source}: metadata 'masam.config' needs integer img_size and num_classes ≥ 1`);
  }
  const classNames = get('masam.class_names') as string[];
  if (
    !Array.isArray(classNames) ||
    !classNames.every((n) => typeof n === 'string') ||
    classNames.length !== config.num_classes + 1
  ) {
    throw new MasamError(
      `${source}: metadata 'masam.class_names' must be ${config.num_classes + 1} names (num_classes + background)`,
    );
  }
  const preprocessing = get('masam.preprocessing') as Preprocessing;
  if (!isObject(preprocessing) || !['ct', 'mri', 'video'].includes(preprocessing.modality)) {
    throw new MasamError(
      `${source}: unknown modality '${String(isObject(preprocessing) ? preprocessing.modality : preprocessing)}' in its preprocessing`,
    );
  }
  const window = preprocessing.window;
  if (
    window !== undefined &&
    !(Array.isArray(window) && window.length === 2 && window.every(Number.isFinite) && window[0] < window[1])
  ) {
    throw new MasamError(`${source}: preprocessing window must be [low, high] with low < high`);
  }
  const slices = get('masam.slices');
  if (!count(slices, 1)) throw new MasamError(`${source}: metadata 'masam.slices' must be an integer ≥ 1`);
  let prompts: PromptSpec | undefined;
  if (metadata['masam.prompts'] !== undefined) {
    prompts = get('masam.prompts') as PromptSpec;
    if (!Number.isInteger(prompts?.points) || prompts.points < 0)
      throw new MasamError(`${source}: metadata 'masam.prompts' needs a point slot count ("points": n ≥ 0)`);
  }
  return {
    config,
    classNames,
    preprocessing,
    slices: slices as number,
    imageSize: config.img_size,
    ...(prompts && { prompts }),
  };
}

/** One graph's metadata and the name that errors give it. */
export type NamedMetadata = readonly [metadata: Readonly<Record<string, string>>, source: string];

/**
 * What is wrong with a split model's two graphs (MaSamModel.exportSplit), if anything: each must say its
 * part (metadata 'masam.part'), and both must come from one export. The CLI (cli/model_files.ts) and the
 * viewer's worker (viewer/segment_job.ts) check a pair the same way; `where` names the pair.
 */
export function splitPartsMismatch(
  where: string,
  encoder: NamedMetadata,
  decoder: NamedMetadata,
): string | undefined {
  for (const [[metadata, source], part] of [
    [encoder, 'encoder'],
    [decoder, 'decoder'],
  ] as const) {
    if (metadata['masam.part'] !== part)
      return `${source}: not a split model's ${part} (metadata masam.part is '${metadata['masam.part'] ?? 'missing'}')`;
  }
  for (const key of [
    'masam.config',
    'masam.class_names',
    'masam.preprocessing',
    'masam.slices',
    'masam.prompts',
  ]) {
    if (encoder[0][key] !== decoder[0][key])
      return `${where}: ${encoder[1]} and ${decoder[1]} come from different exports ('${key}' differs)`;
  }
  return undefined;
}
