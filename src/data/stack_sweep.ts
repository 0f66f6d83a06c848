// The sliding D-slice sweep over a volume on the model's grid (masam-spec.md 10.1–10.2), the one sweep of
// `masam segment` (infer/segment.ts) and of training's validation (train/trainer.ts): for every stack centre
// the model input of data/model_planes.ts → logits [D, K, S, S] → softmax over classes → overlap average
// (output t of the stack centred at c belongs to slice c + t − h; outputs on edge-replicated copies are
// dropped, spec 10.2). Each slice's mean is handed to the caller as soon as no later stack can reach it, so
// memory holds D slices of class probabilities instead of the official [nz + 4, S, S, K] array.
// Browser-safe: the model is any StackRunner (an ONNX session, a split model, the training executor).
//
// Quirks: the average is the true mean, not the official sum/(k+1) of quirk 15 — the argmax is the same,
// and the probabilities are real means. A box-prompted model gets per-slice prompts; only stacks holding a
// prompted slice run, and slices without a prompt are background (the official code has no prompted test
// script, spec §11 "Inference").
import { MasamError } from '../core/errors.js';
import { type ModelGrid, type StackShape, modelStack } from './model_planes.js';
import { type PromptSpec, type SlicePrompt, type StackPrompts, stackPrompts } from './prompts.js';
import { stackCentres, stackSliceIndices } from './slices.js';

/** The two halves of a split model. */
export interface SplitStages {
  /** Image embeddings [D, P, T, T] of each stack (at most `batch` stacks a call). */
  encode(stacks: readonly Float32Array[]): Promise<Float32Array[]>;
  /**
   * One slice image: its embeddings [P, T, T] (and, for a box-prompted model, its prompt: box [4], point
   * coords [P·2], point labels [P]) → logits [K, S, S].
   */
  decode(embedding: Float32Array, prompt?: StackPrompts): Promise<Float32Array>;
  /**
   * The same image's class probabilities [K, S, S] (softmax over K), where the decoder computes them itself
   * (split exports do): the sweep then skips its own softmax, the largest cost of a prompt edit.
   */
  probabilities?(embedding: Float32Array, prompt?: StackPrompts): Promise<Float32Array>;
}

/** The model as the sweep sees it: normalised stacks [D, C, S, S] in, logits [D, K, S, S] out. */
export interface StackRunner {
  /** Stacks per run. */
  readonly batch: number;
  /**
   * Logits [D, K, S, S] of each stack (at most `batch` stacks a call); a box-prompted model takes one
   * StackPrompts per stack.
   */
  logits(stacks: readonly Float32Array[], prompts?: readonly StackPrompts[]): Promise<Float32Array[]>;
  /** Present on a split model: its encoder and decoder, for callers that keep embeddings. */
  readonly split?: SplitStages;
}

/**
 * Where a sweep keeps each stack's image embeddings [D, P, T, T], by stack centre (split models), so that a
 * later sweep with new prompts skips the encoder.
 */
export interface EmbeddingStore {
  get(centre: number): Promise<Float32Array | undefined>;
  set(centre: number, embeddings: Float32Array): Promise<void>;
}

/** Work counters a sweep adds to (a VolumeSegmenter's, kept over its runs). */
export interface SweepCounters {
  /** Stacks through the image encoder (a one-graph model counts every stack it runs). */
  encodedStacks: number;
  /** Slice images through the decoder (split models only). */
  decodedImages: number;
}

export interface SweepOptions {
  /** D and C of the model's input stacks. */
  readonly stack: StackShape;
  /** K, class channels of the logits (background included). */
  readonly classes: number;
  /** Slices between stack centres: 1 = the official overlapping sweep (default), D = non-overlapping. */
  readonly stride?: number;
  /**
   * Per-slice prompts on the model plane (nz entries, null: no prompt), with the model's PromptSpec: only
   * stacks that hold a prompted slice run, and slices without a prompt are background.
   */
  readonly prompts?: { readonly slices: readonly (SlicePrompt | null)[]; readonly spec: PromptSpec };
  /** Kept embeddings of a split model; none when absent. */
  readonly embeddings?: EmbeddingStore | null;
  readonly counters?: SweepCounters;
  /** Called after each run of stacks with the stacks done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Stops the sweep between model calls. */
  readonly signal?: AbortSignal;
  /** Names the sweep in errors (default 'stack sweep'). */
  readonly name?: string;
}

/** Row `t` of a stack's prompts (a one-image StackPrompts), `points` slots per image. */
export function imagePrompt(prompts: StackPrompts, t: number, points: number): StackPrompts {
  return {
    boxes: prompts.boxes.subarray(t * 4, (t + 1) * 4),
    pointCoords: prompts.pointCoords.subarray(t * points * 2, (t + 1) * points * 2),
    pointLabels: prompts.pointLabels.subarray(t * points, (t + 1) * points),
  };
}

/**
 * Softmax over K of logits [K, P] (P pixels) into `x`, max-subtracted; `max` and `sum` are scratch arrays
 * of P values. Loops run over whole class planes, so memory is read contiguously.
 */
function softmaxClasses(
  logits: Float32Array,
  x: Float32Array,
  classes: number,
  max: Float32Array,
  sum: Float32Array,
): void {
  const pixels = max.length;
  max.set(logits.subarray(0, pixels));
  for (let c = 1; c < classes; c++) {
    const o = c * pixels;
    for (let p = 0; p < pixels; p++) if (logits[o + p]! > max[p]!) max[p] = logits[o + p]!;
  }
  sum.fill(0);
  for (let c = 0; c < classes; c++) {
    const o = c * pixels;
    for (let p = 0; p < pixels; p++) {
      const e = Math.exp(logits[o + p]! - max[p]!);
      x[o + p] = e;
      sum[p]! += e;
    }
  }
  for (let c = 0; c < classes; c++) {
    const o = c * pixels;
    for (let p = 0; p < pixels; p++) x[o + p]! /= sum[p];
  }
}

/** Per-slice sums of class probabilities [K, S, S] and how many stacks added to each. */
interface Pending {
  readonly sum: Float32Array;
  count: number;
}

/**
 * Sweeps `grid` with `model` and hands every slice z (0 … nz − 1) once, as soon as it is final, to
 * `finish`: its mean class probabilities [K, S, S] in the official orientation, or null for a slice without
 * a prompt (background). The mean array is the sweep's: copy it to keep it.
 * @returns the number of stacks run
 * @throws MasamError when the model returns the wrong number of logits
 * @throws the signal's reason (an AbortError) when `options.signal` aborts
 */
export async function sweepStacks(
  grid: ModelGrid,
  model: StackRunner,
  options: SweepOptions,
  finish: (z: number, mean: Float32Array | null) => void,
): Promise<number> {
  const name = options.name ?? 'stack sweep';
  const { depth } = options.stack;
  const nz = grid.input.nz;
  const h = (depth - 1) / 2;
  const classes = options.classes;
  const pixels = grid.size * grid.size;
  const slicePlane = classes * pixels;
  const prompts = options.prompts?.slices;
  if (prompts && prompts.length !== nz)
    throw new MasamError(`${name}: prompts for ${prompts.length} slices, the volume has ${nz}`);
  const points = options.prompts?.spec.points ?? 0;
  const prompted = (z: number): boolean => !prompts || prompts[z] !== null;
  const centres = stackCentres(nz, { depth, stride: options.stride ?? 1 }).filter(
    (c) => !prompts || stackSliceIndices(nz, c, depth).some(prompted),
  );
  const embeddings = options.embeddings ?? null;
  const counters = options.counters ?? { encodedStacks: 0, decodedImages: 0 };
  const pending = new Map<number, Pending>();
  const imageProbs = new Float32Array(slicePlane); // one slice image's probabilities
  const scratchMax = new Float32Array(pixels);
  const scratchSum = new Float32Array(pixels);
  const finished = new Uint8Array(nz);

  const done = (z: number, acc: Pending | null): void => {
    finished[z] = 1;
    if (!acc || !prompted(z)) {
      finish(z, null);
      return;
    }
    const mean = acc.sum;
    for (let p = 0; p < mean.length; p++) mean[p] = mean[p]! / acc.count;
    finish(z, mean);
  };
  /** Adds one slice image's logits [K, S, S] (or its probabilities) to the average of slice z. */
  const add = (z: number, values: Float32Array, kind: 'logits' | 'probabilities' = 'logits'): void => {
    if (values.length !== slicePlane) {
      throw new MasamError(
        `${name}: the model returned ${values.length} values for a slice image, expected ${kind} ` +
          `[${classes}, ${grid.size}, ${grid.size}] (${slicePlane})`,
      );
    }
    let probs = values;
    if (kind === 'logits') {
      softmaxClasses(values, imageProbs, classes, scratchMax, scratchSum);
      probs = imageProbs;
    }
    let acc = pending.get(z);
    if (!acc) {
      acc = { sum: new Float32Array(slicePlane), count: 0 };
      pending.set(z, acc);
    }
    const sum = acc.sum;
    for (let i = 0; i < slicePlane; i++) sum[i]! += probs[i];
    acc.count++;
  };
  const stackPromptsAt = (centre: number): StackPrompts | undefined =>
    prompts &&
    stackPrompts(
      stackSliceIndices(nz, centre, depth).map((z) => prompts[z]!),
      options.prompts!.spec,
    );

  for (let s = 0; s < centres.length; s += model.batch) {
    options.signal?.throwIfAborted();
    const chunk = centres.slice(s, s + model.batch);
    const split = model.split;
    if (split) {
      const kept = new Map<number, Float32Array>();
      for (const c of chunk) {
        const e = await embeddings?.get(c);
        if (e) kept.set(c, e);
      }
      const missing = chunk.filter((c) => !kept.has(c));
      const encoded =
        missing.length > 0 ? await split.encode(missing.map((c) => modelStack(grid, c, options.stack))) : [];
      counters.encodedStacks += missing.length;
      for (const [i, c] of missing.entries()) {
        kept.set(c, encoded[i]!);
        await embeddings?.set(c, encoded[i]!);
      }
      for (const centre of chunk) {
        options.signal?.throwIfAborted();
        const embedding = kept.get(centre)!;
        const perImage = embedding.length / depth;
        const sp = stackPromptsAt(centre);
        for (let t = 0; t < depth; t++) {
          const z = centre - h + t;
          // Edge-replicated copies are dropped (spec 10.2), slices without a prompt are background:
          // neither is decoded.
          if (z < 0 || z >= nz || !prompted(z)) continue;
          const image = embedding.subarray(t * perImage, (t + 1) * perImage);
          const prompt = sp && imagePrompt(sp, t, points);
          if (split.probabilities) add(z, await split.probabilities(image, prompt), 'probabilities');
          else add(z, await split.decode(image, prompt));
          counters.decodedImages++;
        }
      }
    } else {
      const stacks = chunk.map((c) => modelStack(grid, c, options.stack));
      const chunkPrompts = prompts && chunk.map((c) => stackPromptsAt(c)!);
      const logits = await model.logits(stacks, chunkPrompts);
      counters.encodedStacks += chunk.length;
      chunk.forEach((centre, i) => {
        const stackLogits = logits[i]!;
        if (stackLogits.length !== depth * slicePlane) {
          throw new MasamError(
            `${name}: the model returned ${stackLogits.length} values for a stack, expected logits ` +
              `[${depth}, ${classes}, ${grid.size}, ${grid.size}] (${depth * slicePlane})`,
          );
        }
        for (let t = 0; t < depth; t++) {
          const z = centre - h + t;
          if (z < 0 || z >= nz) continue; // an edge-replicated copy: dropped (spec 10.2)
          add(z, stackLogits.subarray(t * slicePlane, (t + 1) * slicePlane));
        }
      });
    }
    // Later stacks start at slice (next centre − h): everything before it is final.
    const next = centres[s + chunk.length];
    const limit = next === undefined ? nz : next - h;
    for (const [z, acc] of pending) {
      if (z < limit) {
        done(z, acc);
        pending.delete(z);
      }
    }
    options.onProgress?.(s + chunk.length, centres.length);
  }
  const missed = finished.reduce((n, f) => n + (f ? 0 : 1), 0);
  if (missed > 0 && !prompts) throw new MasamError(`${name}: ${missed} slices received no stack`);
  // A prompted run skips stacks without prompts: their slices are background.
  for (let z = 0; z < nz; z++) if (!finished[z]) done(z, null);
  return centres.length;
}
