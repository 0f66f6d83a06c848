// The training loop of a run folder (spec §9), free of the command line so a server or a worker can run
// it: steps, validation every valEvery steps, best/latest checkpoints, a stop request (Ctrl-C) that saves
// latest, resume from latest (or from step 0 when a run stopped before its first checkpoint), and the
// final export of the best weights. The caller parses options, prepares the data and prints.
import { MasamError } from '../core/errors.js';
import type { PromptSpec } from '../data/prompts.js';
import { writePth } from '../io/pth.js';
import { masamCheckpointEntries } from '../models/masam/checkpoint.js';
import type { MaSamConfig } from '../models/sam/config.js';
import type { Weights } from '../nn/index.js';
import type { LatestState, RunDir } from './run_dir.js';
import type { SliceCache } from './slice_cache.js';
import { type TrainConfig, trainingDevices, trainingRecord } from './train_config.js';
import { StepRate, formatDuration, progressLine, validationLine } from './train_log.js';
import { Trainer, type TrainerOptions } from './trainer.js';

/** A line for the user; 'progress' lines stand in for a progress bar where there is none. */
export interface TrainLine {
  readonly kind: 'progress' | 'validation' | 'note';
  readonly text: string;
}

export interface TrainLoopOptions {
  /** The run folder, opened by the caller (run.open(): locked, temporaries removed), run.json written. */
  readonly run: RunDir;
  readonly config: MaSamConfig;
  /** The starting weights (fresh or from SAM); replaced from latest.safetensors when resuming. */
  readonly weights: Weights;
  readonly trainable: ReadonlySet<string>;
  readonly trainData: SliceCache;
  readonly valData: SliceCache;
  readonly training: TrainConfig;
  readonly classNames: readonly string[];
  /**
   * Continue the run from latest.safetensors (from step 0 if it has none yet); run.json then records
   * `training` (a new total of steps, changed machine settings).
   */
  readonly resume?: boolean;
  /** Aborting it (Ctrl-C) stops after the current step and saves latest.safetensors. */
  readonly signal?: AbortSignal;
  /** Every line also written to train.log. */
  readonly onLine?: (line: TrainLine) => void;
  /** After every step (for a progress bar). */
  readonly onStep?: (p: { step: number; steps: number; loss: number; lr: number }) => void;
  /** After each validation's checkpoints are written (e.g. to redraw curves.png). */
  readonly onValidation?: () => Promise<void>;
  /** Writes the inference model (model/, split) of `weights`, which hold the best weights by then. */
  readonly exportModel: (weights: Weights) => Promise<void>;
}

export interface TrainOutcome {
  readonly status: 'done' | 'interrupted';
  readonly step: number;
  readonly best: { readonly score: number; readonly step: number };
  /** Training seconds, across resumes. */
  readonly seconds: number;
}

/** Runs (or continues) the training in `options.run`. @throws MasamError, e.g. when training diverges. */
export async function trainRun(options: TrainLoopOptions): Promise<TrainOutcome> {
  const { run, training: t, weights } = options;
  const say = async (kind: TrainLine['kind'], text: string) => {
    options.onLine?.({ kind, text });
    await run.logText([text]);
  };

  let state: LatestState | undefined;
  let optimizerTensors: Awaited<ReturnType<RunDir['readCheckpoint']>>['tensors'] | undefined;
  if (options.resume && (await run.hasCheckpoint('latest.safetensors'))) {
    const latest = await run.readCheckpoint('latest.safetensors');
    if (!latest.state)
      throw new MasamError(`${run.file('latest.safetensors')}: no training state in its metadata`);
    run.loadWeights(weights, latest.tensors, 'latest.safetensors');
    state = latest.state;
    optimizerTensors = latest.tensors;
  }
  const startStep = state?.step ?? 0;
  if (t.steps < startStep)
    throw new MasamError(
      `${run.path} is at step ${startStep}: --steps ${t.steps} cannot undo steps already taken (give ${startStep} or more)`,
    );
  const kept = await run.truncateMetrics(startStep);
  const lastSeconds = [...kept].reverse().find((r) => typeof r['seconds'] === 'number')?.['seconds'];
  const secondsBefore = state?.seconds ?? (typeof lastSeconds === 'number' ? lastSeconds : 0);
  if (options.resume) {
    const info = await run.readInfo();
    const previous = Number(info.training['steps']);
    await run.writeInfo({ ...info, training: trainingRecord(t) });
    const horizon =
      previous !== t.steps
        ? ` (was ${previous}: the learning-rate schedule now decays over the new total)`
        : '';
    await say(
      'note',
      state
        ? `resuming from step ${startStep} of ${t.steps}${horizon}`
        : `no checkpoint yet in ${run.path}: starting from step 0 of ${t.steps}${horizon}`,
    );
  } else {
    await say('note', `training ${t.steps} steps into ${run.path}`);
  }

  const devices = trainerDevices(t);
  if (devices.workers)
    await say('note', `${devices.workers} data-parallel workers on ${devices.devices!.join(', ')}`);
  const prompts: PromptSpec | undefined = t.prompt === 'box' ? { points: t.promptPoints } : undefined;
  const trainer = new Trainer(options.config, weights, options.trainable, options.trainData, {
    steps: t.steps,
    batch: t.batch,
    baseLr: t.lr,
    warmup: t.warmup,
    weightDecay: 0.1,
    seed: t.seed,
    ...devices,
    ...(t.threads !== null && { threads: t.threads }),
    ...(t.microBatch !== null && { microBatch: t.microBatch }),
    ...(t.recompute !== null && { recompute: t.recompute }),
    ...(prompts && { prompts }),
  });
  let best = { score: Number.NEGATIVE_INFINITY, step: -1 };
  if (state && optimizerTensors) {
    trainer.restore(state, optimizerTensors);
    best = { score: state.bestScore, step: state.bestStep };
  }

  const sessionStart = performance.now();
  const seconds = () => secondsBefore + (performance.now() - sessionStart) / 1000;
  const saveLatest = () =>
    run.saveCheckpoint('latest.safetensors', weights, trainer.optimizerTensors(), {
      ...trainer.state(),
      bestScore: best.score,
      bestStep: best.step,
      seconds: seconds(),
    });
  const rate = new StepRate();
  rate.mark(trainer.step, 0);
  try {
    while (trainer.step < t.steps && !options.signal?.aborted) {
      const r = await trainer.trainStep();
      const step = trainer.step; // steps done, as metrics.jsonl and the progress count them
      const elapsed = seconds();
      rate.mark(step, elapsed);
      await run.log({ step, loss: r.loss, ce: r.ce, dice: r.dice, lr: r.lr, seconds: elapsed });
      options.onStep?.({ step, steps: t.steps, loss: r.loss, lr: r.lr });
      if (step % t.logEvery === 0 || step === t.steps) {
        const line = progressLine({
          step,
          steps: t.steps,
          loss: r.loss,
          lr: r.lr,
          stepsPerSecond: rate.perSecond,
          etaSeconds: rate.eta(step, t.steps),
        });
        await say('progress', line);
      }
      if (step % t.valEvery === 0 || step === t.steps) {
        const val = await trainer.validate(options.valData);
        await run.log({ step, val_dice: val.perClass, val_mean: val.mean });
        if (val.mean > best.score) {
          best = { score: val.mean, step };
          await run.saveCheckpoint('best.safetensors', weights);
        }
        await saveLatest();
        await say(
          'validation',
          validationLine({
            step,
            steps: t.steps,
            mean: val.mean,
            best,
            ...(t.logClasses && { perClass: { dice: val.perClass, names: options.classNames } }),
          }),
        );
        await options.onValidation?.();
      }
    }
  } finally {
    await trainer.close(); // stops data-parallel workers
  }
  if (trainer.step < t.steps) {
    await saveLatest();
    await say(
      'note',
      `interrupted at step ${trainer.step} of ${t.steps}: saved ${run.file('latest.safetensors')}; continue with --resume`,
    );
    return { status: 'interrupted', step: trainer.step, best, seconds: seconds() };
  }
  await exportBest(options);
  const total = seconds();
  const bestText =
    best.step >= 0 ? `best validation Dice ${best.score.toFixed(4)} at step ${best.step}` : 'no validation';
  await say('note', `done: ${t.steps} steps in ${formatDuration(total)}; ${bestText}`);
  return { status: 'done', step: trainer.step, best, seconds: total };
}

/** Loads the best weights (latest if there never was a validation) and writes masam.pth and the model. */
async function exportBest(options: TrainLoopOptions): Promise<void> {
  const { run, weights } = options;
  const name = (await run.hasCheckpoint('best.safetensors')) ? 'best.safetensors' : 'latest.safetensors';
  if (await run.hasCheckpoint(name)) {
    const { tensors } = await run.readCheckpoint(name);
    run.loadWeights(weights, tensors, name);
  }
  await options.exportModel(weights);
  const entries = masamCheckpointEntries(weights, options.config.depth);
  await run.writer.writeAtomic(run.file('masam.pth'), writePth(entries, { archiveName: 'masam' }));
}

/** The Trainer's device options from --device and --workers (a device list means one worker each). */
function trainerDevices(t: TrainConfig): Pick<TrainerOptions, 'device' | 'workers' | 'devices'> {
  const devices = trainingDevices(t.device);
  const workers = t.workers ?? devices.length;
  if (workers === 1) return { device: devices[0]! };
  return { workers, devices: devices.length === workers ? devices : Array(workers).fill(devices[0]!) };
}
