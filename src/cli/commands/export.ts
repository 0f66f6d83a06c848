// `masam export`: writes a self-contained inference model for a fixed number of slices — by default a split
// model folder (encoder.onnx + decoder.onnx, issue 13: the encoder runs once per stack, the decoder per
// prompt), or one .onnx graph when --out ends in .onnx — whose metadata carries the config, class names and
// preprocessing (issue 3); external data past 2 GB.
// The number of classes comes from the MA-SAM checkpoint when one is given, else from --classes, else
// from the config; where two of them disagree the export stops and says which.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type ConfigInput, type ExportOnnxOptions, type MaSamModel, loadMaSam } from '../../api/model.js';
import { MasamError } from '../../core/errors.js';
import type { PromptSpec } from '../../data/prompts.js';
import type { Preprocessing } from '../../infer/model_info.js';
import { readPth } from '../../io/pth.js';
import { PRESETS } from '../../models/sam/config.js';
import { type Command, UsageError, parseCommandArgs, withExamples } from '../command.js';
import { RunDir } from '../run_dir.js';

const USAGE = withExamples(
  `Usage:
  masam export --run <run dir> --out <folder | model.onnx> [--checkpoint best|latest] [--slices D]
               [--batch B] [--quantize int8] [--precision fp16]
  masam export --config <preset | config.json> [--sam <sam_vit_*.pth>] [--masam <masam.pth>]
               --out <folder | model.onnx> [--slices D] [--batch B] [--classes background,liver,…]
               [--modality ct|mri|video] [--seed N] [--prompt box [--prompt-points P]]
               [--quantize int8] [--precision fp16]

Writes a split model into the folder --out: encoder.onnx, input 'image' [B, D, 3, S, S] (0–1 scale) →
'embeddings' [B·D, 256, S/16, S/16], run once per stack; and decoder.onnx, one slice image's
'embeddings' [1, 256, S/16, S/16] → 'masks' logits [1, K, S, S] and 'iou_predictions', run per slice —
so a new prompt re-runs only the decoder (segment --embeddings, the viewer). A box-prompted model (a run
trained with --prompt box, or --prompt box for a checkpoint of the official bbox variant) has the decoder
also take 'boxes' [1, 4] and, with point slots, 'point_coords' [1, P, 2] and 'point_labels' [1, P].
With --out <file>.onnx: one graph, image (+ prompts for all B·D images) → masks [B·D, K, S, S], as
models exported before the split. Weights past 2 GB go to <file>.data beside each file. The folder of
--out is created if missing. Runs in onnxruntime-node and -web.

  --batch B          stacks per encoder run (default 1); segment feeds B stacks at a time
  --quantize int8    the encoder's matrix weights as per-channel int8, for CPUs (about 4× smaller; speed
                     and Dice change measured in bench/results/pipeline.md); split models only
  --precision fp16   compute in float16 for WebGPU (LayerNorm, softmax and the final upscaling stay
                     float32); both forms

K, the number of classes with background: the --masam checkpoint's decoder fixes it; without one,
--classes does (their count), else the config's num_classes. --classes that disagree with the
checkpoint or with a config.json's num_classes are an error.`,
  [
    'masam export --run runs/btcv --out exported/btcv-int8 --quantize int8',
    'masam export --config small --classes background,liver --out exported/m.onnx',
  ],
);

/** How the model is written: the form (--out), --batch, --quantize, --precision. */
interface ExportForm {
  readonly out: string;
  readonly split: boolean;
  readonly batch: number;
  readonly quantize?: 'int8';
  readonly precision?: 'fp16';
}

/** The export form from the options, checked. */
function exportForm(values: {
  out?: string | undefined;
  batch?: string | undefined;
  quantize?: string | undefined;
  precision?: string | undefined;
}): ExportForm {
  const out = values.out;
  if (!out) throw new UsageError('--out is required (a folder for a split model, or a file ending in .onnx)');
  const split = !out.endsWith('.onnx');
  const batch = Number(values.batch ?? 1);
  if (!Number.isInteger(batch) || batch < 1)
    throw new UsageError(`--batch must be a whole number ≥ 1: '${values.batch}'`);
  if (values.quantize !== undefined && values.quantize !== 'int8')
    throw new UsageError('--quantize takes int8');
  if (values.quantize && !split)
    throw new UsageError(
      '--quantize int8 quantizes the encoder of a split model: give --out a folder, not an .onnx file',
    );
  if (values.precision !== undefined && values.precision !== 'fp16' && values.precision !== 'fp32')
    throw new UsageError('--precision is fp16 or fp32');
  if (values.quantize && values.precision === 'fp16')
    throw new UsageError(
      '--quantize int8 (CPU) and --precision fp16 (WebGPU) are for different devices: pick one',
    );
  return {
    out,
    split,
    batch,
    ...(values.quantize === 'int8' && { quantize: 'int8' as const }),
    ...(values.precision === 'fp16' && { precision: 'fp16' as const }),
  };
}

/** Writes `model` in `form` with the given export options. */
async function writeExport(model: MaSamModel, form: ExportForm, options: ExportOnnxOptions): Promise<void> {
  const full = {
    ...options,
    batch: form.batch,
    ...(form.precision && { precision: form.precision }),
  };
  if (form.split)
    await model.exportSplit(form.out, { ...full, ...(form.quantize && { quantize: form.quantize }) });
  else {
    await mkdir(dirname(form.out), { recursive: true });
    await model.exportOnnx(form.out, full);
  }
}

/** The MA-SAM checkpoint's num_classes: its decoder has one mask token per class and background. */
function checkpointNumClasses(bytes: Uint8Array, source: string): number | undefined {
  const tokens = readPth(bytes, source).get('mask_decoder.mask_tokens.weight');
  return tokens ? tokens.shape[0]! - 1 : undefined; // without it, loadMaSam reports what is wrong
}

/** `--classes a,b,c` as names, background first; at least two. */
function parseClassNames(text: string): string[] {
  const names = text.split(',').map((n) => n.trim());
  if (names.length < 2 || names.some((n) => n === ''))
    throw new UsageError(`--classes takes background and at least one class, comma-separated: '${text}'`);
  return names;
}

async function readConfigFile(path: string): Promise<ConfigInput> {
  const text = await readFile(path, 'utf8').catch((err: Error) => {
    throw new MasamError(`${path}: cannot read the config (${err.message})`);
  });
  try {
    return JSON.parse(text) as ConfigInput;
  } catch (err) {
    throw new MasamError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}

/**
 * The config with num_classes settled: checkpoint, then --classes, then the config itself; a number
 * stated twice must agree.
 */
function withNumClasses(
  config: ConfigInput,
  configSource: string,
  classNames: readonly string[] | undefined,
  checkpoint: { numClasses: number; source: string } | undefined,
): ConfigInput {
  const stated = typeof config === 'string' ? undefined : config.num_classes;
  const named = classNames && classNames.length - 1;
  const count = (n: number) => `${n + 1} classes (background included)`;
  if (checkpoint && named !== undefined && named !== checkpoint.numClasses) {
    throw new UsageError(
      `--classes names ${count(named)}, but ${checkpoint.source} holds a decoder for ${count(checkpoint.numClasses)}`,
    );
  }
  if (stated !== undefined && named !== undefined && stated !== named) {
    throw new UsageError(
      `--classes names ${count(named)}, but ${configSource} says num_classes ${stated}, ${count(stated)}`,
    );
  }
  const numClasses = checkpoint?.numClasses ?? named;
  if (numClasses === undefined) return config;
  if (typeof config === 'string') {
    if (!(config in PRESETS)) throw new UsageError(`--config: unknown preset '${config}'`);
    return { preset: config, num_classes: numClasses };
  }
  return { ...config, num_classes: numClasses };
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a self-contained inference .onnx (for segment, the library and the browser viewer)',
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandArgs({
      args,
      options: {
        run: { type: 'string' },
        checkpoint: { type: 'string' },
        config: { type: 'string' },
        sam: { type: 'string' },
        masam: { type: 'string' },
        out: { type: 'string' },
        slices: { type: 'string' },
        classes: { type: 'string' },
        modality: { type: 'string' },
        seed: { type: 'string' },
        prompt: { type: 'string' },
        'prompt-points': { type: 'string' },
        batch: { type: 'string' },
        quantize: { type: 'string' },
        precision: { type: 'string' },
      },
    });
    const form = exportForm(values);
    const classNames = values.classes === undefined ? undefined : parseClassNames(values.classes);
    const started = performance.now();
    if (values.run) {
      const run = new RunDir(values.run);
      const info = await run.readInfo();
      if (classNames && classNames.length !== info.classNames.length) {
        throw new UsageError(
          `--classes names ${classNames.length} classes, but the run in ${values.run} has ${info.classNames.length} (${info.classNames.join(', ')})`,
        );
      }
      const which = values.checkpoint ?? (existsSync(run.file('best.safetensors')) ? 'best' : 'latest');
      const { tensors } = await run.readCheckpoint(`${which}.safetensors`);
      const model = await loadMaSam({ config: info.config });
      for (const name of model.weights.keys()) {
        const t = tensors.get(name);
        if (!t) throw new MasamError(`${run.file(`${which}.safetensors`)}: weight '${name}' is missing`);
        model.weights.set(name, { dtype: 'float32', shape: t.shape, data: t.data as Float32Array });
      }
      const prompts = info.training['prompts'] as PromptSpec | null | undefined;
      await writeExport(model, form, {
        slices: Number(values.slices ?? info.config.slices),
        classNames: classNames ?? info.classNames,
        preprocessing: info.preprocessing,
        ...(prompts && { prompts }),
      });
    } else {
      if (!values.config) throw new UsageError('give --run <run dir> or --config <preset | config.json>');
      const modality = (values.modality ?? 'ct') as Preprocessing['modality'];
      if (!['ct', 'mri', 'video'].includes(modality)) throw new UsageError('--modality is ct, mri or video');
      if (values.prompt !== undefined && values.prompt !== 'box' && values.prompt !== 'none')
        throw new UsageError('--prompt is box or none');
      const points = Number(values['prompt-points'] ?? 0);
      if (!Number.isInteger(points) || points < 0)
        throw new UsageError('--prompt-points must be a whole number ≥ 0');
      if (points > 0 && values.prompt !== 'box') throw new UsageError('--prompt-points needs --prompt box');
      const isFile = values.config.endsWith('.json');
      const masamBytes =
        values.masam === undefined
          ? undefined
          : await readFile(values.masam).catch((err: Error) => {
              throw new MasamError(`${values.masam}: cannot read checkpoint (${err.message})`);
            });
      const fromCheckpoint = masamBytes && checkpointNumClasses(masamBytes, values.masam!);
      const config = withNumClasses(
        isFile ? await readConfigFile(values.config) : (values.config as ConfigInput),
        values.config,
        classNames,
        fromCheckpoint === undefined ? undefined : { numClasses: fromCheckpoint, source: values.masam! },
      );
      const model = await loadMaSam({
        config,
        ...(values.sam ? { samCheckpoint: values.sam } : {}),
        // The path, not the bytes read above, so that loadMaSam's errors name the file.
        ...(values.masam ? { masamCheckpoint: values.masam } : {}),
        seed: Number(values.seed ?? 1234),
      });
      await writeExport(model, form, {
        slices: Number(values.slices ?? model.config.slices),
        ...(classNames ? { classNames } : {}),
        preprocessing: { modality },
        ...(values.prompt === 'box' && { prompts: { points } }),
      });
    }
    const what = form.split ? `${form.out}/ (encoder.onnx + decoder.onnx)` : form.out;
    console.log(`wrote ${what} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  },
};
