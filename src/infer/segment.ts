// Volumetric inference: a whole volume through an exported MA-SAM model with the official sliding
// D-slice window (masam-spec.md 10.1–10.2), back onto the input's voxels. Browser-safe: the CLI runs it
// with onnxruntime-node, the viewer with an onnxruntime-web session, both through a StackRunner.
//
// Steps: prepareModelGrid (stacks.ts: modality check, per-modality intensities, cubic zoom of each plane
// to S×S) → for every stack centre (stride 1 = the official sweep) the normalised stack [1, D, 3, S, S]
// → logits [D, K, S, S] → softmax over classes → overlap average (output t of the stack centred at c
// belongs to slice c + t − h; outputs on edge-replicated copies are dropped, spec 10.2) → argmax (first
// maximum on ties) → the inverse of the official orientation → nearest zoom back to nx × ny (SciPy
// order 0, the intent of the official zoom branch) → a label Volume with the input's shape, spacing and
// affine (the official test script writes identity affines, spec 10.5; we keep the geometry).
//
// Quirks, as data/slices.ts decided them: the average is the true mean (OverlapAverager's default
// countStart 0), not the official sum/(k+1) of quirk 15 — the argmax is the same, and the probabilities
// we write are real means. The official test-time zoom for non-512 slices is broken (quirk 17); we zoom
// the intensities in (cubic) and the labels out (nearest) instead. The averaging streams: a slice is
// finished (argmax, resize, written out) as soon as no later stack can reach it, so memory holds D slices
// of class probabilities instead of the official [nz + 4, S, S, K] array; the result equals
// OverlapAverager's. A box-prompted model (spec §11) gets per-slice prompts (infer/prompts.ts); only stacks
// holding a prompted slice run, and slices without a prompt are background (the official code has no
// prompted test script, spec §11 "Inference").
import { MasamError } from '../core/errors.js';
import { hostTensor } from '../core/host_tensor.js';
import { type SlicePrompt, stackPrompts } from '../data/prompts.js';
import { argmaxClasses, stackCentres, stackSliceIndices } from '../data/slices.js';
import { zoomToShape } from '../data/zoom.js';
import type { Volume } from '../io/volume.js';
import type { ModelInfo } from './model_info.js';
import { type StackModel, imagePrompt } from './stack_model.js';
import { type ModelGrid, modelStack, prepareModelGrid } from './stacks.js';

/** Options of one VolumeSegmenter.segment run. */
export interface SegmentRunOptions {
  /** Slices between stack centres: 1 = the official overlapping sweep (default), D = non-overlapping. */
  readonly stride?: number;
  /** Also return the averaged class probabilities. */
  readonly probabilities?: boolean;
  /** Called after each run of stacks with the stacks done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Per-slice prompts on the model plane (infer/prompts.ts), required by a box-prompted model: only
   * stacks that hold a prompted slice run, and slices without a prompt are background.
   */
  readonly prompts?: readonly (SlicePrompt | null)[];
  /** Stops the run between model calls (the viewer's Cancel, a server's timeout). */
  readonly signal?: AbortSignal;
}

/** Options of segmentVolume: one run's options and the segmenter's. */
export interface SegmentOptions extends SegmentRunOptions, Omit<SegmenterOptions, 'embeddings'> {}

/**
 * Where a VolumeSegmenter keeps each stack's image embeddings [D, P, T, T], by stack centre: in memory by
 * default; the CLI keeps them on disk (cli/embedding_cache.ts) so that a later run with new prompts skips
 * the encoder.
 */
export interface EmbeddingStore {
  get(centre: number): Promise<Float32Array | undefined>;
  set(centre: number, embeddings: Float32Array): Promise<void>;
}

/** An EmbeddingStore in a Map. */
export class MemoryEmbeddingStore implements EmbeddingStore {
  private readonly stacks = new Map<number, Float32Array>();
  get size(): number {
    return this.stacks.size;
  }
  async get(centre: number): Promise<Float32Array | undefined> {
    return this.stacks.get(centre);
  }
  async set(centre: number, embeddings: Float32Array): Promise<void> {
    this.stacks.set(centre, embeddings);
  }
}

export interface SegmentResult {
  /** Class index per voxel: the input's in-plane shape and slices ([nx, ny, nz]), spacing and affine. */
  readonly labels: Volume<'uint8'>;
  /**
   * Averaged class probabilities [nx, ny, nz, K] (only with `probabilities`), sampled back to the input
   * grid with the same nearest-neighbour map as the labels, so their argmax is the label map.
   */
  readonly probabilities?: Volume<'float32'>;
  /** Stacks run. */
  readonly stacks: number;
  /** Wall-clock seconds of the whole call (preprocessing, model, post-processing). */
  readonly seconds: number;
}

/**
 * Softmax over K of logits [D, K, P] (P pixels) into `x`, max-subtracted; `max` and `sum` are scratch
 * arrays of P values. Loops run over whole class planes, so memory is read contiguously.
 */
function softmaxClasses(
  logits: Float32Array,
  x: Float32Array,
  depth: number,
  classes: number,
  max: Float32Array,
  sum: Float32Array,
): void {
  const pixels = max.length;
  for (let t = 0; t < depth; t++) {
    const base = t * classes * pixels;
    max.set(logits.subarray(base, base + pixels));
    for (let c = 1; c < classes; c++) {
      const o = base + c * pixels;
      for (let p = 0; p < pixels; p++) if (logits[o + p]! > max[p]!) max[p] = logits[o + p]!;
    }
    sum.fill(0);
    for (let c = 0; c < classes; c++) {
      const o = base + c * pixels;
      for (let p = 0; p < pixels; p++) {
        const e = Math.exp(logits[o + p]! - max[p]!);
        x[o + p] = e;
        sum[p]! += e;
      }
    }
    for (let c = 0; c < classes; c++) {
      const o = base + c * pixels;
      for (let p = 0; p < pixels; p++) x[o + p]! /= sum[p];
    }
  }
}

/** Per-slice sums of class probabilities [K, S, S] and how many stacks added to each. */
interface Pending {
  readonly sum: Float32Array;
  count: number;
}

/**
 * Writes a finished model-grid plane (official orientation, row-major [S, S]) into `out` at `offset` on the
 * input's grid: the official orientation is the stored plane's memory reversed (data/slices.ts), then a
 * SciPy order-0 zoom [S, S] → [ny, nx] unless the sizes already agree.
 */
function planeToInput(
  plane: Uint8Array | Float32Array,
  grid: ModelGrid,
  out: Uint8Array | Float32Array,
  offset: number,
): void {
  const n = plane.length;
  const stored = plane.slice();
  for (let p = 0; p < n; p++) stored[p] = plane[n - 1 - p]!;
  const { nx, ny } = grid.input;
  const s = grid.size;
  if (nx === s && ny === s) out.set(stored, offset);
  else if (stored instanceof Uint8Array)
    out.set(zoomToShape(hostTensor('uint8', [s, s], stored), [ny, nx], { order: 0 }).data, offset);
  else out.set(zoomToShape(hostTensor('float32', [s, s], stored), [ny, nx], { order: 0 }).data, offset);
}

/** Options of a VolumeSegmenter. */
export interface SegmenterOptions {
  /** Names the input in errors (e.g. its file); default 'input'. */
  readonly source?: string;
  /** Refuse NaN/±Inf voxels instead of replacing them (stacks.ts, nonFiniteVoxelWarning); default false. */
  readonly strict?: boolean;
  /**
   * Where to keep each stack's image embeddings (split models) so that later `segment` calls — a new prompt, another
   * stride — run only the decoder for stacks already encoded: default a MemoryEmbeddingStore, null keeps
   * none (segmentVolume).
   */
  readonly embeddings?: EmbeddingStore | null;
}

/**
 * One volume on the model's grid, segmented as often as a caller likes: the viewer and a server keep one
 * per open volume, so that a prompt edit re-runs only the decoder (split models keep each stack's
 * embeddings; a one-graph model re-runs whole stacks).
 */
export class VolumeSegmenter {
  /** The volume on the model grid (stacks.ts). */
  readonly grid: ModelGrid;
  private readonly embeddings: EmbeddingStore | null;
  /** Stacks through the image encoder so far (a one-graph model counts every stack it runs). */
  encodedStacks = 0;
  /** Slice images through the decoder so far (split models only). */
  decodedImages = 0;

  constructor(
    readonly volume: Volume,
    readonly model: StackModel,
    private readonly options: SegmenterOptions = {},
  ) {
    this.embeddings = options.embeddings === undefined ? new MemoryEmbeddingStore() : options.embeddings;
    this.grid = prepareModelGrid(volume, model.info, options.source ?? 'input', {
      strict: options.strict ?? false,
    });
  }

  /**
   * Segments the volume as the official test script does (spec 10.2): every slice of the third voxel axis
   * k is a stack centre at stride 1.
   * @throws MasamError when prompts do not fit the model, or the model returns the wrong number of logits
   * @throws the signal's reason (an AbortError) when `options.signal` aborts; nothing is half-written
   */
  async segment(options: SegmentRunOptions = {}): Promise<SegmentResult> {
    const start = performance.now();
    const { grid, model, volume } = this;
    const info = model.info;
    const source = this.options.source ?? 'input';
    const { nx, ny, nz } = grid.input;
    const depth = grid.depth;
    const h = (depth - 1) / 2;
    const classes = info.classNames.length;
    if (classes > 256) throw new MasamError(`segmentVolume: ${classes} classes do not fit uint8 labels`);
    const pixels = grid.size * grid.size;
    const slicePlane = classes * pixels;
    const prompts = checkPrompts(info, options.prompts, nz, source);
    const points = info.prompts?.points ?? 0;
    const prompted = (z: number): boolean => !prompts || prompts[z] !== null;
    const centres = stackCentres(nz, { depth, stride: options.stride ?? 1 }).filter(
      (c) => !prompts || stackSliceIndices(nz, c, depth).some(prompted),
    );
    const inPlane = nx * ny;
    const labels = new Uint8Array(inPlane * nz);
    const probs = options.probabilities ? new Float32Array(inPlane * nz * classes) : undefined;
    const pending = new Map<number, Pending>();
    const imageProbs = new Float32Array(slicePlane); // one slice image's probabilities
    const scratchMax = new Float32Array(pixels);
    const scratchSum = new Float32Array(pixels);
    const finished = new Uint8Array(nz);

    // Background everywhere: the label 0 and, with probabilities, class 0 at 1.
    const background = (z: number): void => {
      probs?.fill(1, z * inPlane, (z + 1) * inPlane);
    };
    const finish = (z: number, acc: Pending): void => {
      finished[z] = 1;
      if (!prompted(z)) {
        background(z);
        return;
      }
      const mean = acc.sum;
      const k = acc.count;
      for (let p = 0; p < mean.length; p++) mean[p] = mean[p]! / k;
      // ≤ 256 classes (checked above): argmaxClasses returns a Uint8Array.
      const best = argmaxClasses(hostTensor('float32', [1, classes, grid.size, grid.size], mean));
      planeToInput(best as Uint8Array, grid, labels, z * inPlane);
      if (probs) {
        for (let c = 0; c < classes; c++) {
          // Class c of slice z: (i, j, k, c) sits at i + nx·(j + ny·(k + nz·c)).
          planeToInput(mean.subarray(c * pixels, (c + 1) * pixels), grid, probs, (c * nz + z) * inPlane);
        }
      }
    };
    /** Adds one slice image's logits [K, S, S] to the average of slice z. */
    const add = (z: number, logits: Float32Array): void => {
      if (logits.length !== slicePlane) {
        throw new MasamError(
          `segmentVolume: the model returned ${logits.length} values for a slice image, expected logits ` +
            `[${classes}, ${grid.size}, ${grid.size}] (${slicePlane})`,
        );
      }
      softmaxClasses(logits, imageProbs, 1, classes, scratchMax, scratchSum);
      let acc = pending.get(z);
      if (!acc) {
        acc = { sum: new Float32Array(slicePlane), count: 0 };
        pending.set(z, acc);
      }
      const sum = acc.sum;
      for (let i = 0; i < slicePlane; i++) sum[i]! += imageProbs[i];
      acc.count++;
    };
    const stackPromptsAt = (centre: number) =>
      prompts &&
      stackPrompts(
        stackSliceIndices(nz, centre, depth).map((z) => prompts[z]!),
        info.prompts!,
      );

    for (let s = 0; s < centres.length; s += model.batch) {
      options.signal?.throwIfAborted();
      const chunk = centres.slice(s, s + model.batch);
      const split = model.split;
      if (split) {
        const kept = new Map<number, Float32Array>();
        for (const c of chunk) {
          const e = await this.embeddings?.get(c);
          if (e) kept.set(c, e);
        }
        const missing = chunk.filter((c) => !kept.has(c));
        const encoded = missing.length > 0 ? await split.encode(missing.map((c) => modelStack(grid, c))) : [];
        this.encodedStacks += missing.length;
        for (const [i, c] of missing.entries()) {
          kept.set(c, encoded[i]!);
          await this.embeddings?.set(c, encoded[i]!);
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
            add(z, await split.decode(image, sp && imagePrompt(sp, t, points)));
            this.decodedImages++;
          }
        }
      } else {
        const stacks = chunk.map((c) => modelStack(grid, c));
        const chunkPrompts = prompts && chunk.map((c) => stackPromptsAt(c)!);
        const logits = await model.logits(stacks, chunkPrompts);
        this.encodedStacks += chunk.length;
        chunk.forEach((centre, i) => {
          const stackLogits = logits[i]!;
          if (stackLogits.length !== depth * slicePlane) {
            throw new MasamError(
              `segmentVolume: the model returned ${stackLogits.length} values for a stack, expected logits ` +
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
          finish(z, acc);
          pending.delete(z);
        }
      }
      options.onProgress?.(s + chunk.length, centres.length);
    }
    const missed = finished.reduce((n, f) => n + (f ? 0 : 1), 0);
    if (missed > 0 && !prompts) throw new MasamError(`segmentVolume: ${missed} slices received no stack`);
    // A prompted run skips stacks without prompts: their slices are background.
    for (let z = 0; z < nz; z++) if (!finished[z]) background(z);
    const spacing = volume.spacing.slice(0, 3);
    return {
      labels: {
        data: labels,
        dtype: 'uint8',
        shape: [nx, ny, nz],
        spacing,
        affine: volume.affine,
        ...(volume.source ? { source: volume.source } : {}),
      },
      ...(probs && {
        probabilities: {
          data: probs,
          dtype: 'float32' as const,
          shape: [nx, ny, nz, classes],
          spacing: [...spacing, 1],
          affine: volume.affine,
        },
      }),
      stacks: centres.length,
      seconds: (performance.now() - start) / 1000,
    };
  }
}

/**
 * Segments `volume` once with an exported model (infer/stack_model.ts), as the official test script does
 * (spec 10.2): every slice of the third voxel axis k is a stack centre at stride 1. For repeated runs on
 * one volume (prompt edits) keep a VolumeSegmenter instead.
 * @example const { labels } = await segmentVolume(ct, sessionStackModel(session, info));
 * @throws MasamError when the input does not fit the model's modality (naming `options.source`) or the
 *   model returns the wrong number of logits
 */
export async function segmentVolume(
  volume: Volume,
  model: StackModel,
  options: SegmentOptions = {},
): Promise<SegmentResult> {
  const start = performance.now();
  const { source, strict, ...run } = options;
  const segmenter = new VolumeSegmenter(volume, model, {
    ...(source !== undefined && { source }),
    ...(strict !== undefined && { strict }),
    embeddings: null,
  });
  const result = await segmenter.segment(run);
  return { ...result, seconds: (performance.now() - start) / 1000 };
}

/**
 * The prompts of a run, checked against the model: a box-prompted model needs one entry per slice, a
 * model without prompt inputs takes none.
 */
function checkPrompts(
  info: ModelInfo,
  prompts: readonly (SlicePrompt | null)[] | undefined,
  nz: number,
  source: string,
): readonly (SlicePrompt | null)[] | undefined {
  if (!info.prompts) {
    if (prompts) throw new MasamError(`${source}: the model takes no prompts (it was trained without boxes)`);
    return undefined;
  }
  if (!prompts) throw new MasamError(`${source}: the model is box-prompted: give prompts (a box or points)`);
  if (prompts.length !== nz)
    throw new MasamError(`${source}: prompts for ${prompts.length} slices, the volume has ${nz}`);
  return prompts;
}
