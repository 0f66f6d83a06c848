// `masam info <file|folder> [--json]`: what a volume is — what it holds, shape, dtype, spacing, affine,
// orientation code (nibabel's aff2axcodes) and value range — for NIfTI files, DICOM series and frame
// folders; what an exported model (.onnx) takes — classes, slices, input size, preprocessing, prompts and
// its inputs; what a run folder (run.json) holds — config, classes, steps, best validation Dice, files; and
// a dataset folder (dataset.json): its summary and integrity check (exit 1 when it finds problems).
import { existsSync } from 'node:fs';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SPLIT_DECODER_FILE, SPLIT_ENCODER_FILE } from '../../api/model.js';
import { MasamError } from '../../core/errors.js';
import { formatDatasetCheck } from '../../data/dataset_check.js';
import { modelInfoFromMetadata } from '../../infer/model_info.js';
import { describeVolumeContent } from '../../infer/stacks.js';
import { aff2axcodes } from '../../io/geometry.js';
import { niftiDatatypeName, niftiHeaderOf } from '../../io/nifti.js';
import type { Affine, Volume } from '../../io/volume.js';
import { inspectModel } from '../../onnx/inspect.js';
import { type Command, UsageError, parseCommandArgs } from '../command.js';
import { checkDatasetFolder } from '../dataset_check_files.js';
import { isSplitDir, resolveModel } from '../model_files.js';
import { RunDir } from '../run_dir.js';
import { readVolume } from '../volume_files.js';

/** What `masam info --json` prints. */
export interface VolumeInfo {
  readonly path: string;
  /** 'nifti', 'dicom', 'frames', … (Volume.source.format). */
  readonly format: string;
  /** What the volume holds, e.g. 'a grey 3D volume [..] (CT or MRI)' or 'a 4D volume [..] (3 volumes or channels)'. */
  readonly content: string;
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
    content: describeVolumeContent(volume),
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
    `content      ${info.content}`,
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
  /** 'split': a folder of encoder.onnx + decoder.onnx (api/model.ts exportSplit); 'one graph': one .onnx. */
  readonly form: 'split' | 'one graph';
  /** 'int8' when the encoder's matrix weights are int8; 'fp16' when it computes in float16; else 'fp32'. */
  readonly weights: 'fp32' | 'int8' | 'fp16';
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

/** Reads an exported model's masam metadata and signature: one .onnx, or a split model's folder. */
export async function describeModelFile(path: string): Promise<ModelFileInfo> {
  const where = await resolveModel(path);
  const read = async (file: string) => {
    const bytes = await readFile(file).catch((err: Error) => {
      throw new MasamError(`${file}: cannot read the model (${err.message})`);
    });
    return inspectModel(bytes, file);
  };
  const spec = (prefix: string) => (t: { name: string; dtype: string; shape: readonly number[] }) =>
    `${prefix}${t.name} ${t.dtype} [${t.shape.join(', ')}]`;
  const parts =
    where.kind === 'onnx'
      ? [{ prefix: '', signature: await read(where.file), file: where.file }]
      : await Promise.all(
          [SPLIT_ENCODER_FILE, SPLIT_DECODER_FILE].map(async (name) => ({
            prefix: `${name.replace('.onnx', '')}: `,
            signature: await read(join(where.dir, name)),
            file: join(where.dir, name),
          })),
        );
  const { signature, file } = parts[0]!;
  const model = modelInfoFromMetadata(signature.metadata, file);
  const cfg = model.config;
  const metadata = signature.metadata;
  return {
    path: where.kind === 'onnx' ? where.file : where.dir,
    format: 'masam-onnx',
    form: where.kind === 'onnx' ? 'one graph' : 'split',
    weights:
      metadata['masam.quantize'] === 'int8'
        ? 'int8'
        : metadata['masam.precision'] === 'fp16'
          ? 'fp16'
          : 'fp32',
    classNames: model.classNames,
    slices: model.slices,
    imageSize: model.imageSize,
    preprocessing: model.preprocessing,
    prompts: model.prompts ?? null,
    inputs: parts.flatMap((p) => p.signature.inputs.map(spec(p.prefix))),
    outputs: parts.flatMap((p) => p.signature.outputs.map(spec(p.prefix))),
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
    `format         masam model (ONNX, ${info.form === 'split' ? 'split: encoder.onnx + decoder.onnx' : 'one graph'}; ${info.weights} weights)`,
    `classes        ${info.classNames.map((n, i) => `${i} ${n}`).join(', ')}`,
    `stack          ${info.slices} slices of ${info.imageSize}×${info.imageSize}`,
    `preprocessing  ${p.modality}${p.window ? `, window ${p.window.join('..')} HU` : ''}`,
    `prompts        ${prompts}`,
    `architecture   ${info.architecture}`,
    `inputs         ${info.inputs.join('; ')}`,
    `outputs        ${info.outputs.join('; ')}`,
  ].join('\n');
}

/** What `masam info --json` prints for a run folder of `masam train`. */
export interface RunFolderInfo {
  readonly path: string;
  readonly format: 'masam-run';
  readonly classNames: readonly string[];
  readonly modality: string;
  /** Point slots of a box-prompted run; null for a run without prompts. */
  readonly prompts: { readonly points: number } | null;
  readonly architecture: string;
  /** Slices per stack and the model's input side. */
  readonly stack: { readonly slices: number; readonly imageSize: number };
  /** Steps saved in latest.safetensors (where --resume continues), logged in metrics.jsonl, and planned. */
  readonly steps: {
    readonly checkpoint: number | null;
    readonly logged: number | null;
    readonly total: number | null;
  };
  /** The best validation (mean Dice over the foreground classes) and its step; null before the first. */
  readonly best: {
    readonly dice: number;
    readonly step: number;
    readonly perClass: readonly number[] | null;
  } | null;
  /** The run's training options, as run.json holds them. */
  readonly training: Readonly<Record<string, unknown>>;
  /** Files in the folder with their sizes in bytes (null for folders such as cache/). */
  readonly files: readonly { readonly name: string; readonly bytes: number | null }[];
}

/** The training state in a checkpoint's safetensors metadata, read from its header alone (not the weights). */
async function checkpointStep(path: string): Promise<number | null> {
  const fh = await open(path, 'r').catch(() => null);
  if (fh === null) return null;
  try {
    const head = Buffer.alloc(8);
    if ((await fh.read(head, 0, 8, 0)).bytesRead < 8) return null;
    const length = Number(head.readBigUInt64LE(0));
    if (length > 100e6) return null;
    const header = Buffer.alloc(length);
    if ((await fh.read(header, 0, length, 8)).bytesRead < length) return null;
    const meta = (JSON.parse(header.toString('utf8')) as { __metadata__?: Record<string, string> })
      .__metadata__;
    const state = meta?.['masam.state'];
    const step = state === undefined ? undefined : (JSON.parse(state) as { step?: unknown }).step;
    return typeof step === 'number' ? step : null;
  } catch {
    return null; // a damaged checkpoint: info still describes the rest of the run
  } finally {
    await fh.close();
  }
}

/** The last logged training step and the best validation of metrics.jsonl (the first of equals). */
async function metricsSummary(run: RunDir): Promise<Pick<RunFolderInfo, 'best'> & { logged: number | null }> {
  let logged: number | null = null;
  let best: RunFolderInfo['best'] = null;
  for (const r of await run.readMetrics()) {
    if (typeof r['loss'] === 'number') logged = Math.max(logged ?? 0, r.step);
    const mean = r['val_mean'];
    if (typeof mean === 'number' && (best === null || mean > best.dice)) {
      const perClass = Array.isArray(r['val_dice']) ? (r['val_dice'] as number[]) : null;
      best = { dice: mean, step: r.step, perClass };
    }
  }
  return { logged, best };
}

/** Reads what a run folder holds: run.json, the checkpoint's step, metrics.jsonl and the file list. */
export async function describeRunFolder(path: string): Promise<RunFolderInfo> {
  const run = new RunDir(path);
  const info = await run.readInfo();
  const cfg = info.config;
  const training = info.training ?? {};
  const { logged, best } = await metricsSummary(run);
  const files = [];
  for (const name of (await readdir(path)).sort()) {
    const st = await stat(join(path, name)).catch(() => null);
    if (st !== null) files.push({ name, bytes: st.isDirectory() ? null : st.size });
  }
  const prompts = training['prompts'] as { points: number } | null | undefined;
  return {
    path,
    format: 'masam-run',
    classNames: info.classNames,
    modality: info.preprocessing?.modality ?? 'unknown',
    prompts: prompts ?? null,
    architecture: `ViT ${cfg.depth} blocks × ${cfg.embed_dim} (${cfg.num_heads} heads), decoder width ${cfg.out_chans}`,
    stack: { slices: cfg.slices, imageSize: cfg.img_size },
    steps: {
      checkpoint: await checkpointStep(run.file('latest.safetensors')),
      logged,
      total: typeof training['steps'] === 'number' ? training['steps'] : null,
    },
    best,
    training,
    files,
  };
}

/** Bytes as B, kB, MB or GB (powers of 1000), 3 significant digits. */
function bytesText(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let u = 0;
  let x = n;
  while (x >= 1000 && u < units.length - 1) {
    x /= 1000;
    u++;
  }
  return u === 0 ? `${n} B` : `${Number(x.toPrecision(3))} ${units[u]}`;
}

/** The human-readable form of `masam info <run folder>`. */
export function formatRunInfo(info: RunFolderInfo): string {
  const s = info.steps;
  const total = s.total === null ? '' : ` of ${s.total}`;
  const done =
    s.checkpoint === null
      ? `no checkpoint yet${s.logged === null ? '' : ` (${s.logged} logged in metrics.jsonl)`}${total}`
      : `${s.checkpoint}${total} in latest.safetensors${s.logged !== null && s.logged > s.checkpoint ? ` (${s.logged} logged; --resume continues from ${s.checkpoint})` : ''}`;
  const foreground = info.classNames.slice(1);
  const best =
    info.best === null
      ? 'no validation yet'
      : `mean Dice ${info.best.dice.toFixed(4)} at step ${info.best.step}` +
        (info.best.perClass && info.best.perClass.length === foreground.length
          ? ` (${foreground.map((n, c) => `${n} ${info.best!.perClass![c]!.toFixed(3)}`).join(', ')})`
          : '');
  const prompts =
    info.prompts === null
      ? 'none'
      : `box per slice${info.prompts.points > 0 ? ` + ${info.prompts.points} point slots` : ''}`;
  const t = info.training;
  const options = [
    'data',
    'fold',
    'init',
    'batch',
    'lr',
    'warmup',
    'valEvery',
    'seed',
    'trainable',
    'augment',
  ]
    .filter((k) => t[k] !== undefined && t[k] !== null)
    .map((k) => `${k} ${String(t[k])}`)
    .join(', ');
  return [
    `path          ${info.path}`,
    `format        masam run folder (masam train --out)`,
    `classes       ${info.classNames.map((n, i) => `${i} ${n}`).join(', ')}`,
    `modality      ${info.modality}`,
    `stack         ${info.stack.slices} slices of ${info.stack.imageSize}×${info.stack.imageSize}`,
    `prompts       ${prompts}`,
    `architecture  ${info.architecture}`,
    `training      ${options}`,
    `steps         ${done}`,
    `best          ${best}`,
    `files         ${info.files.map((f) => `${f.name}${f.bytes === null ? '/' : ` (${bytesText(f.bytes)})`}`).join(', ')}`,
  ].join('\n');
}

/** The `info` subcommand (listed in main.ts). */
export const info: Command = {
  name: 'info',
  summary: 'describe a volume, an exported model, a run folder or a dataset (with its integrity check)',
  usage: [
    'Usage: masam info <file|folder> [--json]',
    '',
    'Reads a .nii / .nii.gz file, a DICOM file or series folder, or a folder of .png/.jpg frames, and',
    'prints what it holds, its shape, dtype, voxel spacing (mm), affine (voxel → RAS+ mm), orientation code',
    'and value range. For an exported model (.onnx) it prints the classes, stack size, preprocessing,',
    'whether it takes box prompts, and its inputs and outputs. For a run folder (masam train --out) it prints',
    'the config, classes, steps done of the total, the best validation Dice and its step, and the files.',
    'For a dataset folder (dataset.json, imagesTr/, labelsTr/) it prints cases, classes, channels, shapes,',
    "spacing and intensity ranges, and checks every case as nnU-Net's --verify_dataset_integrity does",
    '(channels complete, image and label grids and affines agree, label values those of dataset.json and',
    'integers, no NaN/Inf voxels); each problem names its file and the exit code is 1 when any is found.',
    '',
    'Options:',
    '  --json    print one JSON object instead of text',
    '',
    'Examples:',
    '  masam info case_0000.nii.gz',
    '  masam info Dataset001_BTCV        # dataset summary and integrity check',
  ].join('\n'),
  async run(args: string[]): Promise<number> {
    const parsed = parse(args);
    const { values, positionals } = parsed;
    if (positionals.length !== 1)
      throw new UsageError(`expected one file or folder, got ${positionals.length}`);
    const path = positionals[0]!;
    if (/\.onnx$/i.test(path) || (await isSplitDir(path))) {
      const model = await describeModelFile(path);
      console.log(values.json ? JSON.stringify(model, null, 2) : formatModelInfo(model));
      return 0;
    }
    // Folders that are a run or a dataset are described as such, not read as a frame sequence or series.
    if (existsSync(join(path, 'run.json'))) {
      const run = await describeRunFolder(path);
      console.log(values.json ? JSON.stringify(run, null, 2) : formatRunInfo(run));
      return 0;
    }
    if (existsSync(join(path, 'dataset.json'))) {
      const check = await checkDatasetFolder(path);
      console.log(
        values.json
          ? JSON.stringify({ path, format: 'dataset', ...check }, null, 2)
          : formatDatasetCheck(check, path),
      );
      return check.problems.length === 0 ? 0 : 1;
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
