// `masam train`: fine-tune MA-SAM on an MSD / nnU-Net dataset with the official recipe (spec §9), with
// validation, best/latest checkpoints, exact resume and the exported model (issue 5 item 1).
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { writeFileAtomic } from '../../api/files.js';
import { type MaSamModel, loadMaSam } from '../../api/model.js';
import { MasamError } from '../../core/errors.js';
import { splitCases } from '../../data/dataset.js';
import type { Modality } from '../../data/intensity.js';
import type { PromptSpec } from '../../data/prompts.js';
import { masamCheckpointEntries } from '../../models/masam/checkpoint.js';
import { type MaSamConfig, PRESETS, type PresetName } from '../../models/sam/config.js';
import { writePth } from '../../io/pth.js';
import { Trainer } from '../../train/trainer.js';
import { type Command, UsageError, parseCommandArgs } from '../command.js';
import { guessModality, openDataset } from '../dataset_files.js';
import { buildSliceCache } from '../slice_cache_files.js';
import { RunDir } from '../run_dir.js';

const USAGE = `Usage: masam train --data <dataset dir> --out <run dir> [options]

Fine-tunes MA-SAM (FacT + 3D adapters + decoder) on an MSD / nnU-Net v2 dataset. Defaults follow the
official recipe: AdamW (wd 0.1), lr 0.0008 with 250 warmup steps then poly-7 decay, 0.2·CE + 0.8·Dice,
RandomGenerator augmentation, 5 slices per stack.

  --sam <sam_vit_*.pth>   Meta's SAM checkpoint to start from (or --init random)
  --init random           start from PyTorch-default random weights (for --preset small)
  --preset <name>         vit_b | vit_l | vit_h | small (default vit_b with --sam, small with --init random)
  --config <json>         config overrides (keys of MaSamConfig, e.g. {"num_classes": 13})
  --modality <m>          ct | mri | video (default: from dataset.json channel names)
  --slices <d>            slices per stack (default 5)
  --img-size <s>          model input size (default: the preset's)
  --steps <n>             optimiser steps (default 2000)
  --batch <b>             stacks per step (default 2)
  --lr <x>                base learning rate (default 0.0008)
  --warmup <n>            warmup steps (default 250)
  --seed <n>              seed for init, sampling, augmentation and dropout (default 1234)
  --val-every <n>         validate every n steps (default 200) on a held-out case split
  --val-fraction <x>      share of cases held out (default 0.2, at least 1 case)
  --augment official|none  the official RandomGenerator augmentation, or none (default official)
  --trainable peft|all    what learns: the official PEFT set (FacT, adapters, prompt encoder, mask
                          decoder), or every weight (default: peft with --sam, all with --init random,
                          where a frozen random backbone would carry no information)
  --prompt box|none       box: train the box-prompted variant (spec §11; boxes from the labels, jittered,
                          as README "Prompts" describes) so segment takes --prompts (default none)
  --prompt-points <n>     with --prompt box: point slots per slice, trained with random foreground and
                          background points (default 0: boxes only)
  --resume                continue the run in --out exactly where it stopped
  --device cpu|cuda       ONNX Runtime execution provider (default cpu)

Ctrl-C saves latest.safetensors before exiting; --resume continues from it.`;

export const train: Command = {
  name: 'train',
  summary: 'fine-tune MA-SAM on an MSD / nnU-Net dataset (official recipe, resumable)',
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandArgs({
      args,
      options: {
        data: { type: 'string' },
        out: { type: 'string' },
        sam: { type: 'string' },
        init: { type: 'string' },
        preset: { type: 'string' },
        config: { type: 'string' },
        modality: { type: 'string' },
        slices: { type: 'string' },
        'img-size': { type: 'string' },
        steps: { type: 'string' },
        batch: { type: 'string' },
        lr: { type: 'string' },
        warmup: { type: 'string' },
        seed: { type: 'string' },
        'val-every': { type: 'string' },
        'val-fraction': { type: 'string' },
        resume: { type: 'boolean' },
        trainable: { type: 'string' },
        augment: { type: 'string' },
        prompt: { type: 'string' },
        'prompt-points': { type: 'string' },
        device: { type: 'string' },
      },
    });
    if (!values.out) throw new UsageError('--out is required');
    const run = new RunDir(values.out);
    if (values.resume) return resume(run, values.device);
    if (!values.data) throw new UsageError('--data is required');
    if (!values.sam && values.init !== 'random')
      throw new UsageError('give --sam <checkpoint> or --init random');
    if (existsSync(run.file('run.json')))
      throw new MasamError(`${values.out} already holds a run: use --resume, or another --out`);

    const ds = await openDataset(values.data);
    const modality = (values.modality ?? guessModality(ds.info)) as Modality | null;
    if (!modality || !['ct', 'mri', 'video'].includes(modality)) {
      throw new UsageError(
        `cannot tell the modality from channels [${ds.info.channels.join(', ')}]: pass --modality ct|mri|video`,
      );
    }
    const labelValues = Object.values(ds.info.labels).sort((a, b) => a - b);
    if (labelValues.some((v, i) => v !== i))
      throw new MasamError(
        `${values.data}: labels must be 0..C without gaps, got [${labelValues.join(', ')}]`,
      );
    const preset = (values.preset ?? (values.sam ? 'vit_b' : 'small')) as PresetName;
    if (!(preset in PRESETS)) throw new UsageError(`unknown preset '${preset}'`);
    const overrides = values.config ? (JSON.parse(values.config) as Partial<MaSamConfig>) : {};
    const config = {
      preset,
      ...overrides,
      num_classes: labelValues.length - 1,
      ...(values.slices ? { slices: Number(values.slices) } : {}),
      ...(values['img-size'] ? { img_size: Number(values['img-size']) } : {}),
    };
    const seed = Number(values.seed ?? 1234);
    const training = {
      data: values.data,
      sam: values.sam ?? null,
      init: values.sam ? 'sam' : 'random',
      modality,
      steps: Number(values.steps ?? 2000),
      batch: Number(values.batch ?? 2),
      lr: Number(values.lr ?? 0.0008),
      warmup: Number(values.warmup ?? 250),
      seed,
      valEvery: Number(values['val-every'] ?? 200),
      valFraction: Number(values['val-fraction'] ?? 0.2),
      trainable: values.trainable ?? (values.sam ? 'peft' : 'all'),
      augment: values.augment ?? 'official',
    };
    if (training.augment !== 'official' && training.augment !== 'none')
      throw new UsageError('--augment is official or none');
    if (training.trainable !== 'peft' && training.trainable !== 'all')
      throw new UsageError('--trainable is peft or all');
    const prompt = values.prompt ?? 'none';
    if (prompt !== 'box' && prompt !== 'none') throw new UsageError('--prompt is box or none');
    const points = Number(values['prompt-points'] ?? 0);
    if (!Number.isInteger(points) || points < 0)
      throw new UsageError(`--prompt-points must be a whole number ≥ 0, got '${values['prompt-points']}'`);
    if (points > 0 && prompt !== 'box') throw new UsageError('--prompt-points needs --prompt box');
    const prompts: PromptSpec | null = prompt === 'box' ? { points } : null;
    const model = await loadMaSam({ config, ...(values.sam ? { samCheckpoint: values.sam } : {}), seed });
    const classNames = Object.entries(ds.info.labels)
      .sort((a, b) => a[1] - b[1])
      .map(([n]) => n);
    await mkdir(values.out, { recursive: true });
    if ((await readdir(values.out)).length > 0) throw new MasamError(`${values.out} is not empty`);
    await run.writeInfo({
      config: model.config,
      classNames,
      preprocessing: { modality },
      training: { ...training, prompts },
    });
    return loop(run, model, values.device, undefined);
  },
};

async function resume(run: RunDir, device: string | undefined): Promise<number> {
  const info = await run.readInfo();
  const { tensors, state } = await run.readCheckpoint('latest.safetensors');
  if (!state) throw new MasamError(`${run.file('latest.safetensors')}: no training state in its metadata`);
  const model = await loadMaSam({ config: info.config, seed: Number(info.training['seed']) });
  for (const name of model.weights.keys()) {
    const t = tensors.get(name);
    if (!t) throw new MasamError(`${run.file('latest.safetensors')}: weight '${name}' is missing`);
    model.weights.set(name, { dtype: 'float32', shape: t.shape, data: t.data as Float32Array });
  }
  return loop(run, model, device, { tensors, state });
}

async function loop(
  run: RunDir,
  model: MaSamModel,
  device: string | undefined,
  resumed: Awaited<ReturnType<RunDir['readCheckpoint']>> | undefined,
): Promise<number> {
  const info = await run.readInfo();
  const t = info.training as {
    data: string;
    modality: Modality;
    steps: number;
    batch: number;
    lr: number;
    warmup: number;
    seed: number;
    valEvery: number;
    valFraction: number;
    trainable: 'peft' | 'all';
    augment?: 'official' | 'none';
    prompts?: PromptSpec | null;
  };
  const ds = await openDataset(t.data);
  const split = splitCases(
    ds.cases.map((c) => c.id),
    {
      seed: t.seed,
      valFraction: t.valFraction,
      numVal: Math.max(1, Math.round(t.valFraction * ds.cases.length)),
    },
  );
  if (split.train.length === 0)
    throw new MasamError(`${t.data}: needs at least 2 labelled cases (one for validation)`);
  const size = model.config.img_size;
  const cacheOptions = { size, modality: t.modality, cacheDir: run.file('cache') };
  const trainData = await buildSliceCache(ds, split.train, {
    ...cacheOptions,
    label: 'prepare train',
    augment: t.augment !== 'none',
  });
  const valData = await buildSliceCache(ds, split.val, { ...cacheOptions, label: 'prepare val  ' });
  const trainable = t.trainable === 'all' ? model.allTrainableNames() : model.trainable;
  const trainer = new Trainer(model.config, model.weights, trainable, trainData, {
    steps: t.steps,
    batch: t.batch,
    baseLr: t.lr,
    warmup: t.warmup,
    weightDecay: 0.1,
    seed: t.seed,
    device: device === 'cuda' ? 'cuda' : 'cpu',
    ...(t.prompts && { prompts: t.prompts }),
  });
  let best = { score: Number.NEGATIVE_INFINITY, step: -1 };
  if (resumed?.state) {
    trainer.restore(resumed.state, resumed.tensors);
    best = { score: resumed.state.bestScore, step: resumed.state.bestStep };
  }

  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);
  const bar = new cliProgress.SingleBar(
    {
      format: 'train [{bar}] {value}/{total} | loss {loss} | lr {lr} | ETA {eta_formatted}',
      etaBuffer: 20,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(t.steps, trainer.step, { loss: '-', lr: '-' });
  const saveLatest = () =>
    run.saveCheckpoint('latest.safetensors', model.weights, trainer.optimizerTensors(), {
      ...trainer.state(),
      bestScore: best.score,
      bestStep: best.step,
    });
  const started = performance.now();
  try {
    while (trainer.step < t.steps && !interrupted) {
      const r = await trainer.trainStep();
      bar.update(trainer.step, { loss: r.loss.toFixed(4), lr: r.lr.toExponential(2) });
      await run.log({
        step: r.step,
        loss: r.loss,
        ce: r.ce,
        dice: r.dice,
        lr: r.lr,
        seconds: (performance.now() - started) / 1000,
      });
      if (trainer.step % t.valEvery === 0 || trainer.step === t.steps) {
        const val = await trainer.validate(valData);
        await run.log({ step: trainer.step, val_dice: val.perClass, val_mean: val.mean });
        if (val.mean > best.score) {
          best = { score: val.mean, step: trainer.step };
          await run.saveCheckpoint('best.safetensors', model.weights);
        }
        await saveLatest();
        await run.drawCurves();
      }
    }
  } finally {
    bar.stop();
    process.removeListener('SIGINT', onSigint);
  }
  if (interrupted) {
    await saveLatest();
    process.stderr.write(
      `interrupted at step ${trainer.step}: saved ${run.file('latest.safetensors')}; continue with --resume\n`,
    );
    return 130;
  }
  await finish(run, model, info);
  process.stderr.write(
    `done: ${t.steps} steps in ${((performance.now() - started) / 1000).toFixed(1)} s; best validation Dice ${best.score.toFixed(4)} at step ${best.step}\n`,
  );
  return 0;
}

/** Exports the best weights as model.onnx and masam.pth (official format). */
async function finish(
  run: RunDir,
  model: MaSamModel,
  info: Awaited<ReturnType<RunDir['readInfo']>>,
): Promise<void> {
  const { tensors } = await run.readCheckpoint(
    existsSync(run.file('best.safetensors')) ? 'best.safetensors' : 'latest.safetensors',
  );
  for (const name of model.weights.keys()) {
    const t = tensors.get(name)!;
    model.weights.set(name, { dtype: 'float32', shape: t.shape, data: t.data as Float32Array });
  }
  model.invalidate();
  const prompts = info.training['prompts'] as PromptSpec | null | undefined;
  await model.exportOnnx(run.file('model.onnx'), {
    slices: model.config.slices,
    classNames: info.classNames,
    preprocessing: info.preprocessing,
    ...(prompts && { prompts }),
  });
  const entries = masamCheckpointEntries(model.weights, model.config.depth);
  await writeFileAtomic(run.file('masam.pth'), writePth(entries, { archiveName: 'masam' }));
}
