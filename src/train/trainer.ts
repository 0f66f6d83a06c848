// The MA-SAM fine-tuning step (spec §9): a batch of augmented stacks and its FacT dropout noise, the loss and
// gradients from the executor (train/executor.ts: recompute policy, exact micro-batches), host AdamW with the
// official schedule, validation Dice (validation.ts), and a state that checkpoints capture completely, so a
// resumed run continues exactly where it stopped.
import { MasamError } from '../core/errors.js';
import { type HostTensor, hostTensor, splitFirstAxis } from '../core/host_tensor.js';
import { Rng } from '../core/rng.js';
import type { PromptSpec } from '../data/prompts.js';
import type { MaSamConfig } from '../models/sam/config.js';
import type { Weights } from '../nn/index.js';
import type { Device } from '../runtime/index.js';
import { Executor, type RecomputePolicy, type StackBatch } from './executor.js';
import { executorStackModel } from './executor_stack_model.js';
import { ParallelExecutor } from './parallel_executor.js';
import { AdamW } from './optim.js';
import { learningRate } from './schedule.js';
import { validationDice } from './validation.js';
import type { SliceCache, TrainingBatch } from './slice_cache.js';

export interface TrainerOptions {
  /** Optimiser steps in total. */
  readonly steps: number;
  /** Stacks per step (official: 24 over 8 GPUs). */
  readonly batch: number;
  readonly baseLr: number;
  readonly warmup: number;
  readonly weightDecay: number;
  readonly seed: number;
  readonly device?: Device;
  /** ONNX Runtime intra-op threads (default: every core). */
  readonly threads?: number;
  /** Activation recomputation (executor.ts); default 'blocks'. */
  readonly recompute?: RecomputePolicy;
  /** Stacks per micro-batch (default: the whole batch); must divide the batch. The gradient is exact. */
  readonly microBatch?: number;
  /** Data-parallel workers (parallel_executor.ts); default 1 (no worker threads). */
  readonly workers?: number;
  /** One device per worker (e.g. cuda:0, cuda:1); default: `device` for a single worker, else CPU. */
  readonly devices?: readonly Device[];
  /** Box-prompted training (spec §11, data/prompts.ts): boxes from the labels, and this many point slots. */
  readonly prompts?: PromptSpec;
}

/** Everything a checkpoint must hold besides the weights to continue bit-exactly. */
export interface TrainerState {
  readonly step: number;
  readonly rng: readonly number[];
  /** Per-parameter AdamW step counters (moments are stored as tensors). */
  readonly optimizerSteps: Readonly<Record<string, number>>;
}

export interface StepResult {
  readonly step: number;
  readonly loss: number;
  readonly ce: number;
  readonly dice: number;
  readonly lr: number;
}

export class Trainer {
  readonly optimizer: AdamW;
  readonly executor: Executor | ParallelExecutor;
  step = 0;
  rng: Rng;

  constructor(
    readonly config: MaSamConfig,
    readonly weights: Weights,
    readonly trainable: ReadonlySet<string>,
    readonly data: SliceCache,
    readonly options: TrainerOptions,
  ) {
    const micro = options.microBatch ?? options.batch;
    if (!Number.isInteger(micro) || micro < 1 || options.batch % micro !== 0)
      throw new MasamError(
        `micro-batch ${micro} must be a whole number that divides the batch ${options.batch}`,
      );
    this.rng = new Rng(options.seed);
    const executorOptions = {
      config,
      weights,
      trainable,
      prompts: options.prompts ?? null,
      dropout: true,
      recompute: options.recompute ?? 'blocks',
      ...(options.device && { device: options.device }),
      ...(options.threads && { threads: options.threads }),
    };
    // Workers share the weights: they move into shared memory before the optimiser takes their arrays.
    this.executor =
      (options.workers ?? 1) > 1 || options.devices
        ? new ParallelExecutor(executorOptions, {
            workers: options.workers ?? options.devices!.length,
            ...(options.devices && { devices: options.devices }),
          })
        : new Executor(executorOptions);
    this.optimizer = new AdamW(new Map([...trainable].map((n) => [n, weights.get(n)!.data])), {
      weightDecay: options.weightDecay,
    });
  }

  /** Stops the workers of a data-parallel trainer (a no-op otherwise). */
  async close(): Promise<void> {
    if (this.executor instanceof ParallelExecutor) await this.executor.close();
  }

  /** The decay horizon: the official run stops at 300 of 400 planned epochs (spec §9.4), so M = 4/3 · steps. */
  get maxIterations(): number {
    return Math.ceil((this.options.steps * 4) / 3);
  }

  /** Stacks per executor run. */
  get microBatch(): number {
    return this.options.microBatch ?? this.options.batch;
  }

  /** One optimiser step on a fresh augmented batch; the lr follows the official schedule. */
  async trainStep(): Promise<StepResult> {
    const batch = this.data.sampleBatch(
      this.options.batch,
      this.config.slices,
      this.rng,
      this.options.prompts,
    );
    const r = await this.executor.lossAndGrads(this.microBatches(batch));
    const lr = learningRate(this.step, {
      baseLr: this.options.baseLr,
      warmup: this.options.warmup,
      maxIterations: this.maxIterations,
    });
    this.optimizer.step(r.grads, lr);
    const result = { step: this.step, loss: r.loss, ce: r.ce, dice: r.dice, lr };
    if (!Number.isFinite(result.loss))
      throw new MasamError(`training diverged at step ${this.step}: loss ${result.loss}`);
    this.step += 1;
    return result;
  }

  /**
   * The batch as equal micro-batches of consecutive stacks, with the step's dropout noise: each site is
   * drawn for the whole batch in trace order (the stream does not depend on the micro-batch size) and
   * split along its stack-major first axis.
   */
  private microBatches(batch: TrainingBatch): StackBatch[] {
    const m = this.microBatch;
    const n = this.options.batch / m;
    const noise: Map<string, HostTensor<'float32'>>[] = Array.from({ length: n }, () => new Map());
    for (const site of this.executor.noiseSites(m)) {
      for (let j = 0; j < n; j++) {
        const t = hostTensor('float32', site.shape);
        for (let i = 0; i < t.data.length; i++) t.data[i] = this.rng.uniform();
        noise[j]!.set(site.name, t);
      }
    }
    const images = splitFirstAxis(batch.image, n);
    const labels = splitFirstAxis(batch.label, n);
    const prompts = batch.prompts && {
      boxes: splitFirstAxis(batch.prompts.boxes, n),
      pointCoords: splitFirstAxis(batch.prompts.pointCoords, n),
      pointLabels: splitFirstAxis(batch.prompts.pointLabels, n),
    };
    return images.map((image, j) => ({
      image,
      label: labels[j]!,
      noise: noise[j]!,
      ...(prompts && {
        prompts: {
          boxes: prompts.boxes[j]!,
          pointCoords: prompts.pointCoords[j]!,
          pointLabels: prompts.pointLabels[j]!,
        },
      }),
    }));
  }

  /**
   * Dice per class (1..num_classes, official empty-mask rules) on the given cases, the mean over cases of
   * each class (validation.ts): each case predicted on the model grid by the sweep of `masam segment
   * --stride D`, the executor in eval mode; a box-prompted model gets the tight boxes of the true labels.
   */
  async validate(cases: SliceCache): Promise<{ perClass: number[]; mean: number }> {
    const cfg = this.config;
    const stack = { depth: cfg.slices, channels: cfg.in_chans };
    const prompts = this.options.prompts;
    const model = executorStackModel(this.executor, { ...stack, size: cfg.img_size }, prompts);
    return validationDice(cases.cases, model, {
      stack,
      classes: cfg.num_classes,
      ...(prompts && { prompts }),
    });
  }

  /** The optimiser moments as named tensors (for checkpoints). */
  optimizerTensors(): Map<string, HostTensor<'float32'>> {
    const out = new Map<string, HostTensor<'float32'>>();
    for (const [name, st] of this.optimizer.state) {
      const shape = this.weights.get(name)!.shape;
      out.set(`optim.exp_avg/${name}`, hostTensor('float32', shape, st.expAvg));
      out.set(`optim.exp_avg_sq/${name}`, hostTensor('float32', shape, st.expAvgSq));
    }
    return out;
  }

  state(): TrainerState {
    return {
      step: this.step,
      rng: this.rng.getState(),
      optimizerSteps: Object.fromEntries([...this.optimizer.state].map(([n, s]) => [n, s.step])),
    };
  }

  /** Restores step, rng and optimiser moments saved by state() and optimizerTensors(). */
  restore(state: TrainerState, tensors: ReadonlyMap<string, HostTensor>): void {
    this.step = state.step;
    this.rng = Rng.fromState(state.rng);
    for (const [name, step] of Object.entries(state.optimizerSteps)) {
      const m = tensors.get(`optim.exp_avg/${name}`);
      const v = tensors.get(`optim.exp_avg_sq/${name}`);
      if (!m || !v) throw new MasamError(`checkpoint lacks the optimiser moments of '${name}'`);
      this.optimizer.state.set(name, {
        step,
        expAvg: Float32Array.from(m.data as Float32Array),
        expAvgSq: Float32Array.from(v.data as Float32Array),
      });
    }
  }
}
