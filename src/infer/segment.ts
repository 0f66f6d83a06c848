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
// The sweep itself is data/stack_sweep.ts (shared with training's validation): the average is the true
// mean, slices are finished as soon as no later stack can reach it, and a box-prompted model (spec §11)
// gets per-slice prompts (infer/prompts.ts) — only stacks holding a prompted slice run, and slices without
// a prompt are background. The official test-time zoom for non-512 slices is broken (quirk 17); we zoom
// the intensities in (cubic) and the labels out (nearest) instead.
import { MasamError } from '../core/errors.js';
import { hostTensor } from '../core/host_tensor.js';
import type { SlicePrompt } from '../data/prompts.js';
import { argmaxClasses } from '../data/slices.js';
import { type EmbeddingStore, sweepStacks } from '../data/stack_sweep.js';
import { zoomToShape } from '../data/zoom.js';
import type { Volume } from '../io/volume.js';
import type { ModelInfo } from './model_info.js';
import type { StackModel } from './stack_model.js';
import { type StackGrid, prepareModelGrid } from './stacks.js';

export type { EmbeddingStore } from '../data/stack_sweep.js';

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
 * Writes a finished model-grid plane (official orientation, row-major [S, S]) into `out` at `offset` on the
 * input's grid: the official orientation is the stored plane's memory reversed (data/slices.ts), then a
 * SciPy order-0 zoom [S, S] → [ny, nx] unless the sizes already agree.
 */
function planeToInput(
  plane: Uint8Array | Float32Array,
  grid: StackGrid,
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
  readonly grid: StackGrid;
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
    const classes = info.classNames.length;
    if (classes > 256) throw new MasamError(`segmentVolume: ${classes} classes do not fit uint8 labels`);
    const pixels = grid.size * grid.size;
    const prompts = checkPrompts(info, options.prompts, nz, source);
    const inPlane = nx * ny;
    const labels = new Uint8Array(inPlane * nz);
    const probs = options.probabilities ? new Float32Array(inPlane * nz * classes) : undefined;
    const stacks = await sweepStacks(
      grid,
      model,
      {
        stack: grid,
        classes,
        ...(options.stride !== undefined && { stride: options.stride }),
        ...(prompts && { prompts: { slices: prompts, spec: info.prompts! } }),
        embeddings: this.embeddings,
        counters: this,
        ...(options.onProgress && { onProgress: options.onProgress }),
        ...(options.signal && { signal: options.signal }),
        name: 'segmentVolume',
      },
      (z, mean) => {
        if (!mean) {
          // Background: the label 0 and, with probabilities, class 0 at 1.
          probs?.fill(1, z * inPlane, (z + 1) * inPlane);
          return;
        }
        // ≤ 256 classes (checked above): argmaxClasses returns a Uint8Array.
        const best = argmaxClasses(hostTensor('float32', [1, classes, grid.size, grid.size], mean));
        planeToInput(best as Uint8Array, grid, labels, z * inPlane);
        if (probs) {
          for (let c = 0; c < classes; c++) {
            // Class c of slice z: (i, j, k, c) sits at i + nx·(j + ny·(k + nz·c)).
            planeToInput(mean.subarray(c * pixels, (c + 1) * pixels), grid, probs, (c * nz + z) * inPlane);
          }
        }
      },
    );
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
      stacks,
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
