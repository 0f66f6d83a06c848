// The MA-SAM fine-tuning loop's core (spec §9): one compiled training graph (trainable weights, batch and
// FacT dropout noise as inputs), host AdamW with the official schedule, validation Dice, and a state that
// checkpoints capture completely, so a resumed run continues exactly where it stopped.
import { grad } from '../autodiff/index.js';
import { MasamError } from '../core/errors.js';
import { type HostTensor, hostTensor } from '../core/host_tensor.js';
import { Rng } from '../core/rng.js';
import { Graph, type Value } from '../graph/index.js';
import { type PromptSpec, foregroundBox, stackPrompts } from '../data/prompts.js';
import { dicePerClass } from '../metrics/dice.js';
import { MaSam, promptGraphInputs } from '../models/masam/masam.js';
import type { MaSamConfig } from '../models/sam/config.js';
import { ParamScope, ParamSource, type Weights } from '../nn/index.js';
import { type Device, type Session, compile } from '../runtime/index.js';
import { segmentationLoss } from './losses.js';
import { AdamW } from './optim.js';
import { learningRate } from './schedule.js';
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
  step = 0;
  rng: Rng;
  private trainSession?: Promise<Session>;
  private evalSession?: Promise<Session>;
  private noiseSites: { name: string; shape: readonly number[] }[] = [];

  constructor(
    readonly config: MaSamConfig,
    readonly weights: Weights,
    readonly trainable: ReadonlySet<string>,
    readonly data: SliceCache,
    readonly options: TrainerOptions,
  ) {
    this.rng = new Rng(options.seed);
    this.optimizer = new AdamW(new Map([...trainable].map((n) => [n, weights.get(n)!.data])), {
      weightDecay: options.weightDecay,
    });
  }

  /** The decay horizon: the official run stops at 300 of 400 planned epochs (spec §9.4), so M = 4/3 · steps. */
  get maxIterations(): number {
    return Math.ceil((this.options.steps * 4) / 3);
  }

  private buildTrainGraph(): Promise<Session> {
    const cfg = this.config;
    const [b, d, s] = [this.options.batch, cfg.slices, cfg.img_size];
    const graph = new Graph();
    const source = new ParamSource({ graph, weights: this.weights, trainable: this.trainable });
    this.noiseSites = [];
    const noise = (site: string, shape: readonly number[]): Value => {
      const name = `noise/${site}`;
      this.noiseSites.push({ name, shape });
      return graph.input(name, 'float32', shape);
    };
    const out = new MaSam(cfg, new ParamScope(source)).forward(
      graph.input('image', 'float32', [b, d, 3, s, s]),
      { noise, ...(this.options.prompts && promptGraphInputs(graph, b * d, this.options.prompts.points)) },
    );
    const { loss, ce, dice } = segmentationLoss(
      out.lowResLogits,
      graph.input('label', 'int32', [b * d, s, s]),
      cfg.dice_weight,
    );
    const names = [...this.trainable];
    const grads = grad(
      loss,
      names.map((n) => source.valueOf(n)),
    );
    const fetch: Record<string, Value> = { loss, ce, dice };
    names.forEach((n, i) => {
      if (grads[i]) fetch[`grad/${n}`] = grads[i]!;
    });
    // Without ORT's arena the training graph's large, short-lived activations peak far lower.
    return compile(fetch, {
      device: this.options.device ?? 'cpu',
      memoryArena: false,
      ...(this.options.threads && { threads: this.options.threads }),
    });
  }

  /** One optimiser step on a fresh augmented batch; the lr follows the official schedule. */
  async trainStep(): Promise<StepResult> {
    this.trainSession ??= this.buildTrainGraph();
    const session = await this.trainSession;
    const batch = this.data.sampleBatch(
      this.options.batch,
      this.config.slices,
      this.rng,
      this.options.prompts,
    );
    const feeds: Record<string, HostTensor> = {
      image: batch.image,
      label: batch.label,
      ...(batch.prompts && promptFeeds(batch.prompts)),
    };
    for (const site of this.noiseSites) {
      const t = hostTensor('float32', site.shape);
      for (let i = 0; i < t.data.length; i++) t.data[i] = this.rng.uniform();
      feeds[site.name] = t;
    }
    for (const spec of session.inputs)
      if (!(spec.name in feeds)) feeds[spec.name] = this.weights.get(spec.name)!;
    const r = await session.run(feeds);
    const lr = learningRate(this.step, {
      baseLr: this.options.baseLr,
      warmup: this.options.warmup,
      maxIterations: this.maxIterations,
    });
    const grads = new Map<string, Float32Array | null>();
    for (const n of this.trainable) grads.set(n, (r[`grad/${n}`]?.data as Float32Array | undefined) ?? null);
    this.optimizer.step(grads, lr);
    const result = {
      step: this.step,
      loss: Number(r['loss']!.data[0]),
      ce: Number(r['ce']!.data[0]),
      dice: Number(r['dice']!.data[0]),
      lr,
    };
    if (!Number.isFinite(result.loss))
      throw new MasamError(`training diverged at step ${this.step}: loss ${result.loss}`);
    this.step += 1;
    return result;
  }

  private buildEvalGraph(): Promise<Session> {
    const cfg = this.config;
    const [d, s] = [cfg.slices, cfg.img_size];
    const graph = new Graph();
    // Trainable weights stay graph inputs, so one compiled graph serves every validation round.
    const source = new ParamSource({ graph, weights: this.weights, trainable: this.trainable });
    const out = new MaSam(cfg, new ParamScope(source)).forward(
      graph.input('image', 'float32', [1, d, 3, s, s]),
      this.options.prompts && promptGraphInputs(graph, d, this.options.prompts.points),
    );
    return compile(
      { logits: out.lowResLogits },
      {
        device: this.options.device ?? 'cpu',
        ...(this.options.threads && { threads: this.options.threads }),
      },
    );
  }

  /**
   * Dice per class (1..num_classes, official empty-mask rules) on the given cases, each predicted with
   * non-overlapping stacks at model resolution; the mean over cases of each class. A box-prompted model
   * gets the tight boxes of the true labels (no jitter, no points), as its users give boxes, and slices
   * without foreground are background, as in prompted inference.
   */
  async validate(cases: SliceCache): Promise<{ perClass: number[]; mean: number }> {
    this.evalSession ??= this.buildEvalGraph();
    const session = await this.evalSession;
    const cfg = this.config;
    const [d, s, k] = [cfg.slices, cfg.img_size, cfg.num_classes + 1];
    const plane = s * s;
    const sums = new Array<number>(cfg.num_classes).fill(0);
    for (let ci = 0; ci < cases.cases.length; ci++) {
      const c = cases.cases[ci]!;
      const pred = new Uint8Array(c.nz * plane);
      const truth = new Uint8Array(c.nz * plane);
      for (let start = 0; start < c.nz; start += d) {
        const centre = Math.min(start + (d - 1) / 2, c.nz - 1);
        const { image, label } = cases.stack(ci, centre, d);
        const feeds: Record<string, HostTensor> = { image: hostTensor('float32', [1, d, 3, s, s], image) };
        const prompted = this.options.prompts;
        // The true tight boxes, only for a box-prompted model (null: a slice without foreground).
        const slicePrompts = prompted
          ? Array.from({ length: d }, (_, t) => {
              const box = foregroundBox(label, s, t * plane);
              return box && { box, points: [] };
            })
          : [];
        if (prompted) {
          if (slicePrompts.every((p) => p === null)) continue; // no prompt: every slice is background
          const sp = stackPrompts(slicePrompts, prompted);
          Object.assign(
            feeds,
            promptFeeds({
              boxes: hostTensor('float32', [d, 4], sp.boxes),
              pointCoords: hostTensor('float32', [d, prompted.points, 2], sp.pointCoords),
              pointLabels: hostTensor('float32', [d, prompted.points], sp.pointLabels),
            }),
          );
        }
        for (const spec of session.inputs)
          if (!(spec.name in feeds)) feeds[spec.name] = this.weights.get(spec.name)!;
        const logits = (await session.run(feeds))['logits']!.data as Float32Array;
        const first = centre - (d - 1) / 2;
        for (let t = 0; t < d; t++) {
          const z = first + t;
          if (z < start || z >= Math.min(start + d, c.nz) || z < 0) continue;
          for (let p = 0; p < plane; p++) truth[z * plane + p] = label[t * plane + p]!;
          if (prompted && !slicePrompts[t]) continue;
          for (let p = 0; p < plane; p++) {
            let best = 0;
            for (let cls = 1; cls < k; cls++)
              if (logits[(t * k + cls) * plane + p]! > logits[(t * k + best) * plane + p]!) best = cls;
            pred[z * plane + p] = best;
          }
        }
      }
      const dice = dicePerClass(
        { data: pred, shape: [s, s, c.nz] },
        { data: truth, shape: [s, s, c.nz] },
        cfg.num_classes,
      );
      dice.forEach((v, i) => {
        sums[i] += v;
      });
    }
    const perClass = sums.map((v) => v / cases.cases.length);
    return { perClass, mean: perClass.reduce((a, b) => a + b, 0) / perClass.length };
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

/** Feeds for promptGraphInputs (point inputs only exist with point slots). */
function promptFeeds(p: NonNullable<TrainingBatch['prompts']>): Record<string, HostTensor> {
  return {
    boxes: p.boxes,
    ...(p.pointLabels.shape[1]! > 0 && { point_coords: p.pointCoords, point_labels: p.pointLabels }),
  };
}
