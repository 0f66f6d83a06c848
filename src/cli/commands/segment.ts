// `masam segment --model <run dir | model.onnx> --input <in> --output <out>`: volumetric inference with an
// exported MA-SAM model (infer/segment.ts; masam-spec.md 10.1–10.2) on a NIfTI file, a DICOM series, a
// frames folder or a folder of NIfTI cases. Channel files `CASE_XXXX.nii.gz` give `CASE.nii.gz` (nnU-Net's
// predict naming, case_files.ts), so predictions pair with labelsTs/. Label maps keep the input's geometry (the official script
// writes identity affines, spec 10.5); class names go to a `<name>.labels.json` sidecar. A DICOM series can
// also go to a DICOM-SEG of the series (`--output x.dcm`, io/dicom_seg.ts). Every file is
// written atomically, and nothing is written for an input that fails.
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { PNG } from 'pngjs';
import { removeStaleTemporaries, writeFilesAtomic } from '../../api/files.js';
import { SPLIT_ENCODER_FILE } from '../../api/model.js';
import { MasamError } from '../../core/errors.js';
import { type OverlayOptions, overlayMontage } from '../../infer/overlay.js';
import { promptsForVolume } from '../../infer/prompts.js';
import { type SegmentResult, VolumeSegmenter } from '../../infer/segment.js';
import { nonFiniteVoxelWarning } from '../../infer/stacks.js';
import { serializeDicomSeg } from '../../io/dicom_seg.js';
import { labelSlice, maskToPng } from '../../io/frames.js';
import { affineMaxDiff } from '../../io/geometry.js';
import { niftiHeaderOf } from '../../io/nifti.js';
import type { Volume } from '../../io/volume.js';
import type { Device } from '../../runtime/index.js';
import { type Command, UsageError, parseCommandArgs, withExamples } from '../command.js';
import { type CaseInputs, caseFileName, datasetChannels, groupCases } from '../case_files.js';
import { stackChannels } from '../dataset_files.js';
import { DiskEmbeddingStore, fileSha256 } from '../embedding_cache.js';
import { type OpenedModel, openModel } from '../model_files.js';
import { version } from '../version.js';
import { naturalCompare, niftiBytesFor, readVolume } from '../volume_files.js';

const USAGE = withExamples(
  [
    'Usage: masam segment --model <model folder | run dir | model.onnx> --input <in> --output <out> [options]',
    '',
    '--model   an exported model: a split model folder (encoder.onnx + decoder.onnx, masam export), a run',
    '          folder (its model/), or one .onnx graph (exported with --out x.onnx, or before the split)',
    '--input   a .nii/.nii.gz file, a DICOM series folder, a folder of .png/.jpg frames (video models),',
    '          or a folder of .nii/.nii.gz cases (each one is segmented)',
    '--output  out.nii.gz | out.nii   label map (uint8) with the input shape, spacing and affine',
    '          folder/                frames: one 8-bit PNG mask per frame, named after the frame files;',
    '                                 a NIfTI file or DICOM series: folder/<name>.nii.gz;',
    '                                 a folder of cases: one label map per case, same file names',
    "          Channel files are named by case, as nnU-Net's predict does: imagesTs/CASE_0000.nii.gz →",
    '          folder/CASE.nii.gz, so `masam evaluate --pred folder --gt labelsTs` pairs them; with a',
    '          dataset.json beside the input folder declaring C channels, CASE_0000 … CASE_<C-1> are',
    '          stacked into one input.',
    '          Beside each label map, <name>.labels.json lists the class names (value = index).',
    '          out.dcm                a DICOM series only: a DICOM-SEG (BINARY) referencing the series, one',
    '                                 segment per class found (a DICOM series into a folder gets NIfTI)',
    '',
    'Stacks of D slices run along the third voxel axis (axial for typical CT/MRI, frames for video), one',
    'centred on every slice (the official sweep); each slice averages the class probabilities of the',
    'stacks that hold it.',
    '',
    'Options:',
    '  --stride N          slices between stack centres: 1 = official overlap (default), D = no overlap',
    '  --prompts FILE      prompts.json for a box-prompted model (voxel indices, ranges inclusive):',
    '                        {"box3d": [i1, j1, k1, i2, j2, k2]}, {"boxes": [{"slice": k, "box": [i1, j1, i2, j2]}]},',
    '                        {"points": [{"voxel": [i, j, k], "label": 1}]} (1 foreground, 0 background);',
    '                        slices without a prompt are background',
    "  --embeddings DIR    keep each stack's image embeddings in DIR (split models): a later run on the same",
    '                      volume and model — new --prompts, another --stride — runs only the decoder.',
    '                      Disk: D·256·(S/16)² floats a stack (ViT-B at 512²: 5.2 MB; 150 slices: 790 MB)',
    '  --probabilities     also write <name>.probabilities.nii.gz: float32 [nx, ny, nz, K]',
    '  --overlay DIR       write DIR/<name>.png: a few slices with the labels coloured over the image',
    '  --device cpu|cuda   ONNX Runtime execution provider (default cpu)',
    '  --threads N         ONNX Runtime intra-op threads (default: all cores)',
    '  --strict            refuse inputs with NaN/Inf voxels (default: replace them as the intensity clip',
    '                      would, with a warning naming the file and the count)',
    '  --skip-existing     NIfTI inputs: skip a case whose outputs (label map, sidecar, and the',
    '                      probabilities and overlay when asked for) all exist, so an interrupted batch',
    '                      continues; outputs are written atomically, so an existing one is complete',
  ].join('\n'),
  [
    'masam segment --model runs/btcv --input case.nii.gz --output case_seg.nii.gz --overlay png/',
    'masam segment --model runs/btcv --input Dataset001_BTCV/imagesTs --output preds/ --skip-existing',
  ],
);

const NIFTI_EXT = /\.nii(\.gz)?$/i;

function parse(args: string[]) {
  return parseCommandArgs({
    args,
    options: {
      model: { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      stride: { type: 'string' },
      prompts: { type: 'string' },
      probabilities: { type: 'boolean', default: false },
      overlay: { type: 'string' },
      device: { type: 'string', default: 'cpu' },
      threads: { type: 'string' },
      strict: { type: 'boolean', default: false },
      embeddings: { type: 'string' },
      'skip-existing': { type: 'boolean', default: false },
    },
    allowPositionals: false,
    strict: true,
  });
}

function positiveInt(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${name} must be a positive integer, got '${raw}'`);
  return n;
}

/** `case.nii.gz` → `case`; a folder or other file keeps its name. */
function stemOf(path: string): string {
  return basename(path).replace(NIFTI_EXT, '');
}

const isFolder = async (path: string) => (await stat(path).catch(() => undefined))?.isDirectory() === true;

/** One input and where its label map goes (also a queued job's data: masam queue). */
export interface Job {
  readonly input: string;
  /** Every channel file of a multi-channel case, in channel order (`input` is the first). */
  readonly channels?: readonly string[];
  /** The case name of its outputs (overlay PNG): `CASE` for `CASE_0000.nii.gz`. */
  readonly name: string;
  /** A NIfTI path, a DICOM-SEG path (DICOM input), or a folder whose content depends on the input. */
  readonly output: { readonly nifti: string } | { readonly dicomSeg: string } | { readonly folder: string };
}

export interface Settings {
  readonly stride: number;
  /** A prompts.json file and its parsed content (box-prompted models). */
  readonly prompts?: { readonly file: string; readonly json: unknown };
  readonly probabilities: boolean;
  readonly overlay: string | undefined;
  /** Refuse NaN/Inf voxels instead of replacing them. */
  readonly strict: boolean;
  /** Folder of on-disk embeddings (--embeddings) and the encoder they are keyed by, hashed once a run. */
  readonly embeddings?: {
    readonly root: string;
    readonly encoder: { readonly file: string; readonly sha256: string };
  };
}

/** The NIfTI cases of a folder, in natural order (none for a DICOM or frames folder). */
async function niftiCases(dir: string): Promise<CaseInputs[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => !e.name.startsWith('.') && NIFTI_EXT.test(e.name) && !e.isDirectory())
    .map((e) => e.name)
    .sort(naturalCompare);
  return names.length === 0 ? [] : groupCases(names, await datasetChannels(dir), dir);
}

export async function planJobs(input: string, output: string): Promise<Job[]> {
  if (!(await stat(input).catch(() => undefined))) throw new MasamError(`${input}: no such file or folder`);
  if (resolve(input) === resolve(output)) throw new UsageError(`--output is the input itself: '${output}'`);
  const outIsNifti = NIFTI_EXT.test(output);
  const outIsSeg = /\.dcm$/i.test(output);
  if (!outIsNifti && !outIsSeg && /\.[a-z0-9]+$/i.test(basename(output)) && !(await isFolder(output))) {
    throw new UsageError(
      `--output must end in .nii or .nii.gz, .dcm (DICOM input), or be a folder: '${output}'`,
    );
  }
  if (outIsSeg && NIFTI_EXT.test(input)) throw dicomSegInputError(input, 'a NIfTI file');
  if (await isFolder(input)) {
    const cases = await niftiCases(input);
    if (cases.length > 0) {
      if (outIsNifti || outIsSeg) {
        throw new UsageError(`--input is a folder of ${cases.length} cases: --output must be a folder`);
      }
      return cases.map((c) => ({
        input: join(input, c.files[0]!),
        ...(c.files.length > 1 && { channels: c.files.map((f) => join(input, f)) }),
        name: c.id,
        output: { nifti: join(output, `${c.id}${c.ext}`) },
      }));
    }
  }
  const out = outIsSeg ? { dicomSeg: output } : outIsNifti ? { nifti: output } : { folder: output };
  const name = NIFTI_EXT.test(input) ? stemOf(caseFileName(basename(input))) : stemOf(input);
  return [{ input, name, output: out }];
}

/** A .dcm output asks for a DICOM-SEG, which only describes a DICOM series. */
function dicomSegInputError(input: string, what: string): UsageError {
  return new UsageError(
    `DICOM-SEG output (.dcm) needs a DICOM series as --input, but '${input}' is ${what}: write .nii.gz instead`,
  );
}

/** A cli-progress bar on a terminal; nothing when stderr is not one (logs, tests). */
function progress(label: string): { update(done: number, total: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {value}/{total} stacks | {duration_formatted} | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) bar.start(total, 0);
      started = true;
      bar.update(done);
    },
    stop: () => bar.stop(),
  };
}

/** Where one input's outputs go, once we know whether it is a frames volume. */
interface Targets {
  /** The label map: a NIfTI file, or a folder of PNG masks (frames into a folder). */
  readonly labels: string;
  readonly pngMasks: boolean;
  /** `<name>.labels.json` beside the labels (`labels.json` inside a PNG folder). */
  readonly sidecar: string;
  /** `<name>.probabilities.nii[.gz]` beside the labels (`probabilities.nii.gz` inside a PNG folder). */
  readonly probabilities: string;
  /** The label map is a DICOM-SEG file (`<name>.dcm`). */
  readonly dicomSeg?: boolean;
}

function targetsFor(job: Job, frames: boolean): Targets {
  if ('dicomSeg' in job.output) {
    const labels = job.output.dicomSeg;
    const base = labels.replace(/\.dcm$/i, '');
    const probabilities = `${base}.probabilities.nii.gz`;
    return { labels, pngMasks: false, dicomSeg: true, sidecar: `${base}.labels.json`, probabilities };
  }
  if ('folder' in job.output && frames) {
    const dir = job.output.folder;
    const probabilities = join(dir, 'probabilities.nii.gz');
    return { labels: dir, pngMasks: true, sidecar: join(dir, 'labels.json'), probabilities };
  }
  // A NIfTI or DICOM input into a folder keeps its name (a DICOM folder's name + .nii.gz).
  const labels =
    'nifti' in job.output
      ? job.output.nifti
      : join(
          job.output.folder,
          NIFTI_EXT.test(job.input)
            ? caseFileName(basename(job.input))
            : `${basename(resolve(job.input))}.nii.gz`,
        );
  const base = join(dirname(labels), stemOf(labels));
  const ext = NIFTI_EXT.exec(labels)![0];
  return {
    labels,
    pngMasks: false,
    sidecar: `${base}.labels.json`,
    probabilities: `${base}.probabilities${ext}`,
  };
}

/** The labels as a DICOM-SEG of the input series (io/dicom_seg.ts), for `path`. */
function dicomSegBytes(path: string, input: Volume, labels: Volume, classNames: readonly string[]) {
  const series = input.source?.dicom;
  if (!series) throw new MasamError(`${path}: the input is not a DICOM series`); // segmentOne checked it
  const seg = serializeDicomSeg(labels, series, {
    classNames,
    name: path,
    softwareVersion: `masam ${version}`,
  });
  if (seg.empty) console.log(`${path}: no class found; the DICOM-SEG holds empty segments`);
  return seg.bytes;
}

/**
 * Writes everything for one input as one set (writeFilesAtomic): a failure, such as a full disk, leaves
 * every previous output as it was. Returns the label map's path.
 */
async function writeOutputs(
  job: Job,
  volume: Volume,
  result: SegmentResult,
  model: OpenedModel,
  settings: Settings,
): Promise<string> {
  const { info } = model;
  const out = targetsFor(job, volume.source?.format === 'frames');
  const folder = out.pngMasks ? out.labels : dirname(out.labels);
  await mkdir(folder, { recursive: true });
  await removeStaleTemporaries(folder); // left by a segment that was killed
  const files: [string, Uint8Array][] = [];
  if (out.pngMasks) {
    const names = volume.source?.header?.['names'];
    const n = result.labels.shape[2]!;
    const width = Math.max(4, String(n - 1).length);
    for (let t = 0; t < n; t++) {
      const frame = Array.isArray(names) && names.length === n ? String(names[t]) : undefined;
      const file = frame
        ? basename(frame).replace(/\.(png|jpe?g)$/i, '.png')
        : `mask_${String(t).padStart(width, '0')}.png`;
      files.push([join(out.labels, file), maskToPng(labelSlice(result.labels, t))]);
    }
  } else if (out.dicomSeg) {
    files.push([out.labels, dicomSegBytes(out.labels, volume, result.labels, info.classNames)]);
  } else {
    const description = `masam labels, ${info.classNames.length} classes: see ${basename(out.sidecar)}`;
    files.push([
      out.labels,
      niftiBytesFor(out.labels, result.labels, { description: description.slice(0, 79) }),
    ]);
  }
  const sidecarJson = {
    labels: Object.fromEntries(info.classNames.map((name, i) => [name, i])),
    classNames: info.classNames,
    model: model.path,
    input: job.input,
    modality: info.preprocessing.modality,
    stride: settings.stride,
    masam: version,
  };
  files.push([out.sidecar, new TextEncoder().encode(`${JSON.stringify(sidecarJson, null, 2)}\n`)]);
  if (result.probabilities) {
    const src = niftiHeaderOf(volume);
    files.push([
      out.probabilities,
      niftiBytesFor(out.probabilities, result.probabilities, {
        description: 'masam class probabilities [nx, ny, nz, K]',
        ...(src ? { version: src.version, qformCode: src.qformCode, sformCode: src.sformCode } : {}),
      }),
    ]);
  }
  if (settings.overlay !== undefined) {
    const options: OverlayOptions = {
      modality: info.preprocessing.modality,
      ...(info.preprocessing.window ? { window: info.preprocessing.window } : {}),
      classNames: info.classNames,
    };
    const image = overlayMontage(volume, result.labels, options);
    const png = new PNG({ width: image.width, height: image.height });
    png.data = Buffer.from(image.rgba.buffer, image.rgba.byteOffset, image.rgba.byteLength);
    await mkdir(settings.overlay, { recursive: true });
    files.push([join(settings.overlay, `${job.name}.png`), PNG.sync.write(png)]);
  }
  await writeFilesAtomic(files);
  return out.labels;
}

/** Reads a prompts.json (its entries are checked per volume by promptsForVolume). */
async function readPrompts(file: string): Promise<{ file: string; json: unknown }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new MasamError(`${file}: cannot read the prompts (${(err as Error).message})`);
  }
  try {
    return { file, json: JSON.parse(text) };
  } catch (err) {
    throw new MasamError(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

/** The input volume; a multi-channel case's files stacked on a 4th axis, as training reads them. */
async function readInput(job: Job): Promise<Volume> {
  if (!job.channels) return readVolume(job.input);
  const volumes = await Promise.all(job.channels.map((p) => readVolume(p)));
  const first = volumes[0]!;
  volumes.forEach((v, k) => {
    if (v.shape.join() !== first.shape.join() || affineMaxDiff(v.affine, first.affine) > 1e-4) {
      throw new MasamError(
        `${job.channels![k]}: grid [${v.shape.join(', ')}] or affine differs from its channel 0 (${job.input})`,
      );
    }
  });
  return stackChannels(volumes);
}

/** Segments one input and writes its outputs; `onProgress` hears of each stack (queue job progress). */
export async function segmentOne(
  job: Job,
  model: OpenedModel,
  settings: Settings,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  const t0 = performance.now();
  const volume = await readInput(job);
  if ('dicomSeg' in job.output && !volume.source?.dicom) {
    throw dicomSegInputError(job.input, `${volume.source?.format ?? 'not DICOM'} data`);
  }
  const nonFinite = nonFiniteVoxelWarning(volume, model.info, job.input, { strict: settings.strict });
  if (nonFinite) console.error(`masam segment: warning: ${nonFinite}`);
  const bar = progress(basename(job.input));
  let result: SegmentResult;
  try {
    const prompts =
      settings.prompts &&
      promptsForVolume(settings.prompts.json, volume, model.info, settings.prompts.file, job.input);
    const store =
      settings.embeddings === undefined
        ? null
        : await DiskEmbeddingStore.open(
            settings.embeddings.root,
            settings.embeddings.encoder,
            volume,
            job.input,
          );
    const segmenter = new VolumeSegmenter(volume, model.model, {
      source: job.input,
      strict: settings.strict,
      embeddings: store,
    });
    result = await segmenter.segment({
      stride: settings.stride,
      ...(prompts && { prompts }),
      probabilities: settings.probabilities,
      onProgress: (done, total) => {
        bar.update(done, total);
        onProgress?.(done, total);
      },
    });
    if (store) {
      console.log(
        `${job.input}: embeddings of ${store.reused} stack(s) reused, ${store.written} encoded into ${store.dir}`,
      );
    }
  } finally {
    bar.stop();
  }
  const written = await writeOutputs(job, volume, result, model, settings);
  const nz = result.labels.shape[2]!;
  const total = performance.now() - t0;
  console.log(
    `${job.input} → ${written}: [${result.labels.shape.join(', ')}], ${result.stacks} stacks of ` +
      `${model.info.slices} slices (stride ${settings.stride}); ${seconds(total)} total, segmentation ` +
      `${seconds(result.seconds * 1000)} = ${(result.seconds / result.stacks).toFixed(3)} s per stack, ` +
      `${(result.seconds / nz).toFixed(3)} s per slice`,
  );
}

/**
 * The jobs whose outputs all exist (label map, sidecar, and probabilities and overlay when asked for):
 * --skip-existing. Outputs are written atomically as one set, so an existing file is a complete one.
 */
async function jobsDone(
  jobs: readonly Job[],
  wanted: { readonly probabilities: boolean; readonly overlay?: string | undefined },
): Promise<Set<Job>> {
  if (!jobs.every((job) => NIFTI_EXT.test(job.input))) {
    throw new UsageError('--skip-existing takes a NIfTI file or a folder of NIfTI cases as --input');
  }
  const done = new Set<Job>();
  for (const job of jobs) {
    const out = targetsFor(job, false);
    const files = [out.labels, out.sidecar];
    if (wanted.probabilities) files.push(out.probabilities);
    if (wanted.overlay !== undefined) files.push(join(wanted.overlay, `${job.name}.png`));
    const exist = await Promise.all(files.map(async (f) => (await stat(f).catch(() => undefined))?.isFile()));
    if (exist.every(Boolean)) done.add(job);
  }
  return done;
}

/** A split model's encoder file and its SHA-256, which keys on-disk embeddings. */
async function hashedEncoder(modelDir: string): Promise<{ file: string; sha256: string }> {
  const file = join(modelDir, SPLIT_ENCODER_FILE);
  return { file, sha256: await fileSha256(file) };
}

/** The `segment` subcommand (listed in main.ts). */
export const segment: Command = {
  name: 'segment',
  summary: 'segment a volume, DICOM series, frames folder or folder of cases with an exported model',
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    const { values } = parse(args);
    const { model: modelPath, input, output } = values;
    if (modelPath === undefined || input === undefined || output === undefined) {
      const missing = ['model', 'input', 'output'].filter((k) => values[k as 'model'] === undefined);
      throw new UsageError(`missing ${missing.map((k) => `--${k}`).join(', ')}`);
    }
    if (values.device !== 'cpu' && values.device !== 'cuda') {
      throw new UsageError(`--device must be cpu or cuda, got '${values.device}'`);
    }
    const device: Device = values.device;
    const stride = positiveInt('stride', values.stride) ?? 1;
    const threads = positiveInt('threads', values.threads);
    const jobs = await planJobs(input, output);
    const skipped = values['skip-existing'] ? await jobsDone(jobs, values) : new Set<Job>();
    const todo = jobs.filter((job) => !skipped.has(job));
    for (const job of skipped) console.log(`${job.input}: skipped, its outputs exist (--skip-existing)`);
    if (todo.length === 0) {
      console.log(`done: nothing to do, the outputs of all ${jobs.length} input(s) exist`);
      return 0;
    }
    const t0 = performance.now();
    const model = await openModel(modelPath, { device, ...(threads ? { threads } : {}) });
    const loadTime = performance.now() - t0;
    try {
      if (stride > model.info.slices) {
        throw new UsageError(
          `--stride ${stride} is larger than the model's ${model.info.slices} slices per stack`,
        );
      }
      if (values.prompts !== undefined && !model.info.prompts) {
        throw new UsageError(
          `--prompts: ${modelPath} takes no prompts (train with --prompt box for a box-prompted model)`,
        );
      }
      if (values.prompts === undefined && model.info.prompts) {
        throw new UsageError(`${modelPath} is box-prompted: give --prompts prompts.json (a box or points)`);
      }
      if (values.embeddings !== undefined && !model.model.split) {
        throw new UsageError(
          `--embeddings needs a split model (a folder of encoder.onnx + decoder.onnx); ${model.path} is one graph`,
        );
      }
      if (values.prompts !== undefined && jobs.length > 1)
        throw new UsageError('--prompts describes one volume: give one --input file, not a folder of cases');
      const settings: Settings = {
        stride,
        probabilities: values.probabilities,
        overlay: values.overlay,
        strict: values.strict,
        ...(values.prompts !== undefined && { prompts: await readPrompts(values.prompts) }),
        ...(values.embeddings !== undefined && {
          embeddings: { root: values.embeddings, encoder: await hashedEncoder(model.path) },
        }),
      };
      if (jobs.length === 1) {
        await segmentOne(jobs[0]!, model, settings);
      } else {
        const failed: string[] = [];
        for (const job of todo) {
          try {
            await segmentOne(job, model, settings);
          } catch (err) {
            console.error(`masam segment: ${(err as Error).message}`);
            failed.push(basename(job.input));
          }
        }
        if (failed.length > 0) {
          throw new MasamError(`${failed.length} of ${todo.length} cases failed: ${failed.join(', ')}`);
        }
      }
    } finally {
      await model.release();
    }
    const total = performance.now() - t0;
    console.log(
      `done: ${todo.length} ${jobs.length === 1 ? 'input' : 'cases'} in ${seconds(total)} ` +
        (skipped.size > 0 ? `(${skipped.size} skipped) ` : '') +
        `(model load ${seconds(loadTime)}, ${device})`,
    );
    return 0;
  },
};
