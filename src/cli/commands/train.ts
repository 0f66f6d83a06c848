// `masam train`: fine-tune MA-SAM on an MSD / nnU-Net dataset with the official recipe (spec §9). This
// file parses options (flags over a --config file), prepares the data and prints; the loop, checkpoints,
// resume and the run folder live in train/ (loop.ts, run_dir.ts).
import { readFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { type MaSamModel, loadMaSam } from '../../api/model.js';
import { MasamError } from '../../core/errors.js';
import { formatDatasetCheck } from '../../data/dataset_check.js';
import { splitCases } from '../../data/dataset.js';
import { type TrainLine, trainRun } from '../../train/loop.js';
import { resolveFold } from '../../train/folds.js';
import {
  type TrainConfig,
  TrainConfigError,
  resolveTrainConfig,
  resumeTrainConfig,
  trainConfigFromFlags,
  trainConfigFromJson,
  trainingRecord,
} from '../../train/train_config.js';
import { type Command, UsageError, parseCommandArgs, withExamples } from '../command.js';
import { checkDatasetFolder } from '../dataset_check_files.js';
import { type Dataset, guessModality, openDataset } from '../dataset_files.js';
import { RunDir, drawCurves } from '../run_dir.js';
import { RUN_MODEL_DIR } from '../model_files.js';
import { buildSliceCache } from '../slice_cache_files.js';

const USAGE = withExamples(
  `Usage: masam train --data <dataset dir> --out <run dir> [options]
       masam train --out <run dir> --resume [--steps N]

Fine-tunes MA-SAM (FacT + 3D adapters + decoder) on an MSD / nnU-Net v2 dataset. Defaults follow the
official recipe: AdamW (wd 0.1), lr 0.0008 with 250 warmup steps then poly-7 decay, 0.2·CE + 0.8·Dice,
RandomGenerator augmentation, 5 slices per stack.

  --config <train.json>   options from a JSON file, keys as below in camelCase ({"valEvery": 100, …});
                          a run's run.json re-creates that run; flags override the file
  --sam <sam_vit_*.pth>   Meta's SAM checkpoint to start from (or --init random)
  --init random           start from PyTorch-default random weights (for --preset small)
  --preset <name>         vit_b | vit_l | vit_h | small (default vit_b with --sam, small with --init random)
  --model-config <json | config.json>  MaSamConfig overrides, e.g. '{"fact_rank": 16}'
  --modality <m>          ct | mri | video (default: from dataset.json channel names)
  --slices <d>            slices per stack (default 5)
  --img-size <s>          model input size (default: the preset's)
  --steps <n>             optimiser steps in total (default 2000); with --resume a new total: the
                          poly learning-rate schedule then decays over it
  --batch <b>             stacks per step (default 2)
  --micro-batch <m>       run the batch m stacks at a time (m divides b): less memory, the same
                          whole-batch gradient (default: the whole batch at once)
  --recompute blocks|none  recompute each encoder block's activations in the backward pass (less
                          memory) or keep them (default: the trainer's, blocks)
  --lr <x>                base learning rate (default 0.0008)
  --warmup <n>            warmup steps (default 250)
  --seed <n>              seed for init, sampling, augmentation and dropout (default 1234)
  --val-every <n>         validate every n steps (default 200)
  --val-fraction <x>      share of cases held out for validation (default 0.2, at least 1 case)
  --fold <k>              validate on fold k (0..4) of splits_final.json in the dataset, nnU-Net's
                          5-fold split; made as nnU-Net makes it when missing
  --augment official|none  the official RandomGenerator augmentation, or none (default official)
  --trainable peft|all    what learns: the official PEFT set (FacT, adapters, prompt encoder, mask
                          decoder), or every weight (default: peft with --sam, all with --init random,
                          where a frozen random backbone would carry no information)
  --prompt box|none       box: train the box-prompted variant (spec §11; boxes from the labels, jittered,
                          as README "Prompts" describes) so segment takes --prompts (default none)
  --prompt-points <n>     with --prompt box: point slots per slice, trained with random foreground and
                          background points (default 0: boxes only)
  --device <d>            cpu (default), cuda, cuda:N, or one GPU per worker: cuda:0,cuda:1
  --workers <n>           data-parallel workers, each with its own sessions (CPU: the cores divided);
                          gradients summed in a fixed order, so results do not depend on timing
  --threads <n>           ONNX Runtime threads (default: every core)
  --log-every <n>         a progress line every n steps, in train.log and, when stderr is not a
                          terminal, on stderr instead of the progress bar (default 10)
  --log-classes           validation lines show the Dice of every class
  --check                 check the dataset first (as masam info <dataset>); stop on a problem
  --resume                continue the run in --out where it stopped (a run stopped before its first
                          checkpoint starts again from step 0)

Ctrl-C saves latest.safetensors before exiting; --resume continues from it. One process trains in a
run folder at a time (train.lock).`,
  [
    'masam train --data Dataset001_BTCV --sam sam_vit_b_01ec64.pth --out runs/btcv --fold 0',
    'masam train --out runs/btcv --resume --steps 4000',
  ],
);

const FLAGS = {
  data: { type: 'string' },
  out: { type: 'string' },
  config: { type: 'string' },
  sam: { type: 'string' },
  init: { type: 'string' },
  preset: { type: 'string' },
  'model-config': { type: 'string' },
  modality: { type: 'string' },
  slices: { type: 'string' },
  'img-size': { type: 'string' },
  steps: { type: 'string' },
  batch: { type: 'string' },
  'micro-batch': { type: 'string' },
  recompute: { type: 'string' },
  lr: { type: 'string' },
  warmup: { type: 'string' },
  seed: { type: 'string' },
  'val-every': { type: 'string' },
  'val-fraction': { type: 'string' },
  fold: { type: 'string' },
  augment: { type: 'string' },
  trainable: { type: 'string' },
  prompt: { type: 'string' },
  'prompt-points': { type: 'string' },
  device: { type: 'string' },
  workers: { type: 'string' },
  threads: { type: 'string' },
  'log-every': { type: 'string' },
  'log-classes': { type: 'boolean' },
  check: { type: 'boolean' },
  resume: { type: 'boolean' },
} as const;

export const train: Command = {
  name: 'train',
  summary: 'fine-tune MA-SAM on an MSD / nnU-Net dataset (official recipe, resumable)',
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandArgs({ args, options: FLAGS });
    if (!values.out) throw new UsageError('--out is required');
    const given = await givenOptions(values);
    const run = new RunDir(values.out);
    const training = values.resume
      ? await resumeOptions(run, given)
      : asUsage(() => resolveTrainConfig(given));
    if (values.check && !(await checkData(training.data))) return 1;

    const ds = await openDataset(training.data); // a missing or broken dataset stops before the run folder
    const { lock, notes } = await run.open();
    const stop = new AbortController();
    const onSigint = () => stop.abort();
    process.once('SIGINT', onSigint);
    try {
      await say(
        run,
        notes.map((n) => `note: ${n}`),
      );
      const model = values.resume ? await resumeRun(run, training) : await freshRun(run, ds, training);
      const info = await run.readInfo();
      const { train: trainIds, val: valIds } = await splitData(run, ds, training);
      const size = model.config.img_size;
      const cacheOptions = { size, modality: info.preprocessing.modality, cacheDir: run.file('cache') };
      const trainData = await buildSliceCache(ds, trainIds, {
        ...cacheOptions,
        label: 'prepare train',
        augment: training.augment !== 'none',
      });
      const valData = await buildSliceCache(ds, valIds, { ...cacheOptions, label: 'prepare val  ' });
      const printer = new LinePrinter();
      try {
        const outcome = await trainRun({
          run,
          config: model.config,
          weights: model.weights,
          trainable: training.trainable === 'all' ? model.allTrainableNames() : model.trainable,
          trainData,
          valData,
          training,
          classNames: info.classNames,
          ...(values.resume && { resume: true }),
          signal: stop.signal,
          onLine: (line) => printer.line(line),
          onStep: (p) => printer.step(p),
          onValidation: () => drawCurves(run),
          exportModel: async () => {
            model.invalidate();
            await model.exportSplit(run.file(RUN_MODEL_DIR), {
              slices: model.config.slices,
              classNames: info.classNames,
              preprocessing: info.preprocessing,
              ...(training.prompt === 'box' && { prompts: { points: training.promptPoints } }),
            });
          },
        });
        return outcome.status === 'interrupted' ? 130 : 0;
      } finally {
        printer.stop();
      }
    } finally {
      process.removeListener('SIGINT', onSigint);
      await lock.release();
    }
  },
};

type Values = ReturnType<typeof parseCommandArgs<{ args: string[]; options: typeof FLAGS }>>['values'];

/** A TrainConfigError from flags is a usage mistake (exit 2). */
function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TrainConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** The options given: the --config file's, then the flags over them. */
async function givenOptions(values: Values): Promise<Partial<TrainConfig>> {
  const flags = { ...values } as Record<string, string | boolean | undefined>;
  let file: Partial<TrainConfig> = {};
  if (values.config?.trimStart().startsWith('{')) {
    // before --model-config existed, --config took the model overrides as inline JSON
    flags['model-config'] ??= values.config;
  } else if (values.config) {
    file = trainConfigFromJson(await readJson(values.config), values.config);
  }
  const modelConfig = flags['model-config'];
  if (typeof modelConfig === 'string' && !modelConfig.trimStart().startsWith('{'))
    flags['model-config'] = JSON.stringify(await readJson(modelConfig));
  return { ...file, ...asUsage(() => trainConfigFromFlags(flags)) };
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new MasamError(`${path}: cannot read (${(err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MasamError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}

/** The options of the run in `run` with the given changes (only those a resume allows). */
async function resumeOptions(run: RunDir, given: Partial<TrainConfig>): Promise<TrainConfig> {
  const stored = resolveTrainConfig(trainConfigFromJson(await run.readInfo(), run.file('run.json')));
  return asUsage(() => resumeTrainConfig(stored, given));
}

/** Runs the dataset integrity check; prints its report; false when it found a problem. */
async function checkData(root: string): Promise<boolean> {
  const check = await checkDatasetFolder(root);
  console.error(formatDatasetCheck(check, root));
  return check.problems.length === 0;
}

/** Writes run.json of a new run (in a folder without checkpoints) and builds its starting model. */
async function freshRun(run: RunDir, ds: Dataset, training: TrainConfig): Promise<MaSamModel> {
  await run.checkFreshStart();
  const modality = training.modality ?? guessModality(ds.info);
  if (!modality)
    throw new UsageError(
      `cannot tell the modality from channels [${ds.info.channels.join(', ')}]: pass --modality ct|mri|video`,
    );
  const labelValues = Object.values(ds.info.labels).sort((a, b) => a - b);
  if (labelValues.some((v, i) => v !== i))
    throw new MasamError(
      `${training.data}: labels must be 0..C without gaps, got [${labelValues.join(', ')}]`,
    );
  const model = await loadMaSam({
    config: {
      preset: training.preset,
      ...training.modelConfig,
      num_classes: labelValues.length - 1,
      ...(training.slices !== null && { slices: training.slices }),
      ...(training.imgSize !== null && { img_size: training.imgSize }),
    },
    ...(training.sam && { samCheckpoint: training.sam }),
    seed: training.seed,
  });
  const classNames = Object.entries(ds.info.labels)
    .sort((a, b) => a[1] - b[1])
    .map(([n]) => n);
  const resolved = { ...training, modality };
  await run.writeInfo({
    config: model.config,
    classNames,
    preprocessing: { modality },
    training: trainingRecord(resolved),
  });
  return model;
}

/** Builds the model the loop resumes (its weights then come from latest.safetensors). */
async function resumeRun(run: RunDir, training: TrainConfig): Promise<MaSamModel> {
  const info = await run.readInfo();
  // Without a checkpoint the run starts again from its initial weights, so SAM's are needed again.
  const fromStart = !(await run.hasCheckpoint('latest.safetensors'));
  const model = await loadMaSam({
    config: info.config,
    ...(fromStart && training.sam && { samCheckpoint: training.sam }),
    seed: training.seed,
  });
  return model;
}

/** The cases to train on and to validate on: fold k of splits_final.json, or a seeded hold-out. */
async function splitData(
  run: RunDir,
  ds: Dataset,
  training: TrainConfig,
): Promise<{ train: readonly string[]; val: readonly string[] }> {
  const ids = ds.cases.map((c) => c.id);
  if (training.fold !== null) {
    const { split, file, created } = await resolveFold({
      datasetDir: ds.root,
      runDir: run.path,
      caseIds: ids,
      fold: training.fold,
      writeAtomic: run.writer.writeAtomic,
    });
    await say(run, [
      `fold ${training.fold} of ${file}${created ? ' (created: nnU-Net’s 5-fold split, seed 12345)' : ''}: ` +
        `${split.train.length} training, ${split.val.length} validation cases`,
    ]);
    return split;
  }
  const split = splitCases(ids, {
    seed: training.seed,
    valFraction: training.valFraction,
    numVal: Math.max(1, Math.round(training.valFraction * ids.length)),
  });
  if (split.train.length === 0)
    throw new MasamError(`${training.data}: needs at least 2 labelled cases (one for validation)`);
  return split;
}

/** Prints lines of the command itself (before the loop's) and keeps them in train.log. */
async function say(run: RunDir, lines: readonly string[]): Promise<void> {
  for (const line of lines) console.error(line);
  await run.logText(lines);
}

/**
 * What the loop reports, on stderr: in a terminal a progress bar, cleared while another line is printed
 * above it; else (piped to a file) every line, progress lines included, instead of the bar.
 */
class LinePrinter {
  private readonly tty = process.stderr.isTTY === true;
  private bar?: cliProgress.SingleBar;

  line(l: TrainLine): void {
    if (!this.tty) console.error(l.text);
    else if (l.kind !== 'progress') {
      this.stop(); // the next step draws a new bar below the line
      console.error(l.text);
    }
  }

  step(p: { step: number; steps: number; loss: number; lr: number }): void {
    if (!this.tty) return;
    const payload = { loss: p.loss.toFixed(4), lr: p.lr.toExponential(2) };
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          format: 'train [{bar}] {value}/{total} | loss {loss} | lr {lr} | ETA {eta_formatted}',
          etaBuffer: 20,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(p.steps, p.step - 1, payload);
    }
    this.bar.update(p.step, payload);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
