// `masam info <file|folder> [--json]`: what a volume is — shape, dtype, spacing, affine, orientation code
// (nibabel's aff2axcodes) and value range — for NIfTI files, DICOM series and frame folders; and what an
// exported model (.onnx) takes — classes, slices, input size, preprocessing, prompts and its inputs.
import { readFile } from 'node:fs/promises';
import { MasamError } from '../../core/errors.js';
import { modelInfoFromMetadata } from '../../infer/model_info.js';
import { aff2axcodes } from '../../io/geometry.js';
import { niftiDatatypeName, niftiHeaderOf } from '../../io/nifti.js';
import type { Affine, Volume } from '../../io/volume.js';
import { inspectModel } from '../../onnx/inspect.js';
import { type Command, UsageError, parseCommandArgs } from '../command.js';
import { readVolume } from '../volume_files.js';

/** What `masam info --json` prints. */
export interface VolumeInfo {
  readonly path: string;
  /** 'nifti', 'dicom', 'frames', … (Volume.source.format). */
  readonly format: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly spacing: readonly number[];
  readonly affine: Affine;
  /** Where the voxel axes point, e.g. 'RAS' or 'LPS'. */
  readonly orientation: string;
  /** Smallest and largest value, NaNs ignored; null when every value is NaN. */
  readonly range: readonly [number, number] | null;
  /** NIfTI header details, for NIfTI files only. */
  readonly nifti?: {
    readonly version: 1 | 2;
    readonly datatype: string;
    readonly sclSlope: number;
    readonly sclInter: number;
    readonly qformCode: number;
    readonly sformCode: number;
  };
}

/** Min and max of the data, ignoring NaN (int64 compared as numbers). */
export function valueRange(volume: Volume): [number, number] | null {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  const data = volume.data;
  const n = data.length;
  if (data instanceof BigInt64Array) {
    for (let i = 0; i < n; i++) {
      const v = Number(data[i]!);
      if (v < min) min = v;
      if (v > max) max = v;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = data[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return min <= max ? [min, max] : null;
}

/** The facts `masam info` reports about `volume`, read from `path`. */
export function describeVolume(volume: Volume, path: string): VolumeInfo {
  const h = niftiHeaderOf(volume);
  return {
    path,
    format: volume.source?.format ?? 'unknown',
    shape: volume.shape,
    dtype: volume.dtype,
    spacing: volume.spacing,
    affine: volume.affine,
    orientation: aff2axcodes(volume.affine),
    range: valueRange(volume),
    ...(h && {
      nifti: {
        version: h.version,
        datatype: niftiDatatypeName(h.datatype),
        sclSlope: h.sclSlope,
        sclInter: h.sclInter,
        qformCode: h.qformCode,
        sformCode: h.sformCode,
      },
    }),
  };
}

/** Up to 6 significant digits, without trailing zeros. */
function num(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6)));
}

/** The human-readable form of `masam info`. */
export function formatInfo(info: VolumeInfo): string {
  const list = (xs: readonly number[]) => `[${xs.map(num).join(', ')}]`;
  const lines = [
    `path         ${info.path}`,
    `format       ${info.format}`,
    `shape        ${list(info.shape)}`,
    `dtype        ${info.dtype}`,
    `spacing      ${list(info.spacing)} mm`,
    `orientation  ${info.orientation}`,
    `range        ${info.range === null ? 'all NaN' : list(info.range)}`,
    `affine       ${list(info.affine[0])}`,
    ...info.affine.slice(1).map((row) => `             ${list(row)}`),
  ];
  const h = info.nifti;
  if (h !== undefined) {
    // As nibabel: slope 0 or NaN, and (1, 0), mean the stored values are the values.
    const none = h.sclSlope === 0 || !Number.isFinite(h.sclSlope) || (h.sclSlope === 1 && h.sclInter === 0);
    const scaling = none ? 'none' : `${num(h.sclSlope)}·x + ${num(h.sclInter)}`;
    lines.push(
      `nifti        NIfTI-${h.version}, ${h.datatype} on disk, scaling ${scaling}, ` +
        `sform_code ${h.sformCode}, qform_code ${h.qformCode}`,
    );
  }
  return lines.join('\n');
}

/** What `masam info --json` prints for an exported model. */
export interface ModelFileInfo {
  readonly path: string;
  readonly format: 'masam-onnx';
  readonly classNames: readonly string[];
  readonly slices: number;
  readonly imageSize: number;
  readonly preprocessing: { readonly modality: string; readonly window?: readonly number[] };
  /** Point slots of a box-prompted model; null for a model without prompts. */
  readonly prompts: { readonly points: number } | null;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** The image encoder and decoder sizes, e.g. 'ViT 12 blocks × 768 (12 heads), decoder width 256'. */
  readonly architecture: string;
}

/** Reads an exported model's masam metadata and signature. */
export async function describeModelFile(path: string): Promise<ModelFileInfo> {
  const bytes = await readFile(path).catch((err: Error) => {
    throw new MasamError(`${path}: cannot read the model (${err.message})`);
  });
  const signature = inspectModel(bytes, path);
  const model = modelInfoFromMetadata(signature.metadata, path);
  const spec = (t: { name: string; dtype: string; shape: readonly number[] }) =>
    `${t.name} ${t.dtype} [${t.shape.join(', ')}]`;
  const cfg = model.config;
  return {
    path,
    format: 'masam-onnx',
    classNames: model.classNames,
    slices: model.slices,
    imageSize: model.imageSize,
    preprocessing: model.preprocessing,
    prompts: model.prompts ?? null,
    inputs: signature.inputs.map(spec),
    outputs: signature.outputs.map(spec),
    architecture: `ViT ${cfg.depth} blocks × ${cfg.embed_dim} (${cfg.num_heads} heads), decoder width ${cfg.out_chans}`,
  };
}

/** The human-readable form of `masam info model.onnx`. */
export function formatModelInfo(info: ModelFileInfo): string {
  const p = info.preprocessing;
  const prompts =
    info.prompts === null
      ? 'none (segments without prompts)'
      : `box per slice${info.prompts.points > 0 ? ` + ${info.prompts.points} point slots` : ''} (segment --prompts)`;
  return [
    `path           ${info.path}`,
    `format         masam model (ONNX)`,
    `classes        ${info.classNames.map((n, i) => `${i} ${n}`).join(', ')}`,
    `stack          ${info.slices} slices of ${info.imageSize}×${info.imageSize}`,
    `preprocessing  ${p.modality}${p.window ? `, window ${p.window.join('..')} HU` : ''}`,
    `prompts        ${prompts}`,
    `architecture   ${info.architecture}`,
    `inputs         ${info.inputs.join('; ')}`,
    `outputs        ${info.outputs.join('; ')}`,
  ].join('\n');
}

/** The `info` subcommand (listed in main.ts). */
export const info: Command = {
  name: 'info',
  summary:
    'show a volume (shape, spacing, affine, orientation, range) or an exported model (classes, prompts)',
  usage: [
    'Usage: masam info <file|folder> [--json]',
    '',
    'Reads a .nii / .nii.gz file, a DICOM file or series folder, or a folder of .png/.jpg frames, and',
    'prints its shape, dtype, voxel spacing (mm), affine (voxel → RAS+ mm), orientation code and value range.',
    'For an exported model (.onnx) it prints the classes, stack size, preprocessing, whether it takes box',
    'prompts, and its inputs and outputs.',
    '',
    'Options:',
    '  --json    print one JSON object instead of text',
  ].join('\n'),
  async run(args: string[]): Promise<number> {
    const parsed = parse(args);
    const { values, positionals } = parsed;
    if (positionals.length !== 1)
      throw new UsageError(`expected one file or folder, got ${positionals.length}`);
    const path = positionals[0]!;
    if (/\.onnx$/i.test(path)) {
      const model = await describeModelFile(path);
      console.log(values.json ? JSON.stringify(model, null, 2) : formatModelInfo(model));
      return 0;
    }
    const result = describeVolume(await readVolume(path), path);
    console.log(values.json ? JSON.stringify(result, null, 2) : formatInfo(result));
    return 0;
  },
};

function parse(args: string[]) {
  return parseCommandArgs({
    args,
    options: { json: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
}
