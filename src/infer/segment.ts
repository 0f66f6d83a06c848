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
import { type HostTensor, hostTensor } from '../core/host_tensor.js';
import { type SlicePrompt, type StackPrompts, stackPrompts } from '../data/prompts.js';
import { argmaxClasses, stackCentres, stackSliceIndices } from '../data/slices.js';
import { zoomToShape } from '../data/zoom.js';
import type { Volume } from '../io/volume.js';
import type { Session } from '../runtime/session.js';
import type { ModelInfo } from './model_info.js';
import { type ModelGrid, modelStack, prepareModelGrid } from './stacks.js';

/**
 * Runs the model on one stack: float32 [1, D, 3, S, S] on the 0–1 scale (and, for a box-prompted model,
 * the stack's prompts) → logits [D, K, S, S].
 */
export type StackRunner = (stack: Float32Array, prompts?: StackPrompts) => Promise<Float32Array>;

export interface SegmentOptions {
  /** Slices between stack centres: 1 = the official overlapping sweep (default), D = non-overlapping. */
  readonly stride?: number;
  /** Also return the averaged class probabilities. */
  readonly probabilities?: boolean;
  /** Called after each stack with the stacks done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Names the input in errors (e.g. its file); default 'input'. */
  readonly source?: string;
  /** Refuse NaN/±Inf voxels instead of replacing them (stacks.ts, nonFiniteVoxelWarning); default false. */
  readonly strict?: boolean;
  /**
   * Per-slice prompts on the model plane (infer/prompts.ts), required by a box-prompted model: only
   * stacks that hold a prompted slice run, and slices without a prompt are background.
   */
  readonly prompts?: readonly (SlicePrompt | null)[];
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

/**
 * Segments `volume` with an exported model (`info` from its metadata) run through `run`, as the official
 * test script does (spec 10.2): every slice of the third voxel axis k is a stack centre at stride 1.
 * @example const { labels } = await segmentVolume(ct, info, sessionStackRunner(session, info));
 * @throws MasamError when the input does not fit the model's modality (naming `options.source`) or the
 *   runner returns the wrong number of logits
 */
export async function segmentVolume(
  volume: Volume,
  info: ModelInfo,
  run: StackRunner,
  options: SegmentOptions = {},
): Promise<SegmentResult> {
  const start = performance.now();
  const grid = prepareModelGrid(volume, info, options.source ?? 'input', { strict: options.strict ?? false });
  const { nx, ny, nz } = grid.input;
  const depth = grid.depth;
  const h = (depth - 1) / 2;
  const classes = info.classNames.length;
  if (classes > 256) throw new MasamError(`segmentVolume: ${classes} classes do not fit uint8 labels`);
  const pixels = grid.size * grid.size;
  const slicePlane = classes * pixels;
  const prompts = checkPrompts(info, options.prompts, nz, options.source ?? 'input');
  const prompted = (z: number): boolean => !prompts || prompts[z] !== null;
  const centres = stackCentres(nz, { depth, stride: options.stride ?? 1 }).filter(
    (c) => !prompts || stackSliceIndices(nz, c, depth).some(prompted),
  );
  const inPlane = nx * ny;
  const labels = new Uint8Array(inPlane * nz);
  const probs = options.probabilities ? new Float32Array(inPlane * nz * classes) : undefined;
  const pending = new Map<number, Pending>();
  const stackProbs = new Float32Array(depth * slicePlane); // one stack's probabilities
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

  for (let s = 0; s < centres.length; s++) {
    const centre = centres[s]!;
    const stackPrompt =
      prompts &&
      stackPrompts(
        stackSliceIndices(nz, centre, depth).map((z) => prompts[z]!),
        info.prompts!,
      );
    const logits = await run(modelStack(grid, centre), stackPrompt);
    if (logits.length !== depth * slicePlane) {
      throw new MasamError(
        `segmentVolume: the model returned ${logits.length} values for a stack, expected logits ` +
          `[${depth}, ${classes}, ${grid.size}, ${grid.size}] (${depth * slicePlane})`,
      );
    }
    softmaxClasses(logits, stackProbs, depth, classes, scratchMax, scratchSum);
    for (let t = 0; t < depth; t++) {
      const z = centre - h + t;
      if (z < 0 || z >= nz) continue; // an edge-replicated copy: dropped (spec 10.2)
      let acc = pending.get(z);
      if (!acc) {
        acc = { sum: new Float32Array(slicePlane), count: 0 };
        pending.set(z, acc);
      }
      const sum = acc.sum;
      const o = t * slicePlane;
      for (let i = 0; i < slicePlane; i++) sum[i]! += stackProbs[o + i];
      acc.count++;
    }
    // Later stacks start at slice (next centre − h): everything before it is final.
    const next = centres[s + 1];
    const limit = next === undefined ? nz : next - h;
    for (const [z, acc] of pending) {
      if (z < limit) {
        finish(z, acc);
        pending.delete(z);
      }
    }
    options.onProgress?.(s + 1, centres.length);
  }
  const missed = finished.reduce((n, f) => n + (f ? 0 : 1), 0);
  if (missed > 0 && !prompts) throw new MasamError(`segmentVolume: ${missed} slices received no stack`);
  // A prompted run skips stacks without prompts: their slices are background.
  for (let z = 0; z < nz; z++) if (!finished[z]) background(z);
  const spacing = volume.spacing.slice(0, 3);
  const result: SegmentResult = {
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
  return result;
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

/**
 * A StackRunner over an exported model's session (onnxruntime-node in the CLI, onnxruntime-web in the
 * viewer): feeds `image` [B, D, 3, S, S] and fetches `masks` [B·D, K, S, S]. A model exported with
 * batch B > 1 gets the stack in batch slot 0 and zeros elsewhere; the first D output rows are its logits.
 * A box-prompted model also gets `boxes` [B·D, 4] and, with point slots, `point_coords` [B·D, P, 2] and
 * `point_labels` [B·D, P] (empty slots −1).
 * @throws MasamError when the session's signature does not match `info`
 */
export function sessionStackRunner(session: Session, info: ModelInfo): StackRunner {
  const spec = session.inputs.find((s) => s.name === 'image');
  const masks = session.outputs.find((s) => s.name === 'masks');
  const d = info.slices;
  const size = info.imageSize;
  const ch = info.config.in_chans;
  const shape = spec?.shape ?? [];
  if (
    !spec ||
    !masks ||
    spec.dtype !== 'float32' ||
    shape.length !== 5 ||
    shape[1] !== d ||
    shape[2] !== ch ||
    shape[3] !== size ||
    shape[4] !== size
  ) {
    const found = session.inputs.map((s) => `${s.name} ${s.dtype}[${s.shape.join(', ')}]`).join(', ');
    throw new MasamError(
      `model: expected input 'image' float32 [B, ${d}, ${ch}, ${size}, ${size}] and output 'masks', ` +
        `found inputs ${found || 'none'}`,
    );
  }
  const batch = shape[0]!;
  const per = d * ch * size * size;
  const promptInputs = info.prompts ? promptFeedShapes(session, info.prompts.points, batch * d) : undefined;
  /** `values` in batch slot 0 of a [batch, …] buffer whose other slots hold `fill`. */
  const slot0 = (values: Float32Array, fill = 0): Float32Array => {
    if (batch === 1) return values;
    const out = new Float32Array(batch * values.length).fill(fill);
    out.set(values);
    return out;
  };
  return async (stack, prompts) => {
    if (stack.length !== per) {
      throw new MasamError(
        `stack runner: ${stack.length} values, expected [1, ${d}, ${ch}, ${size}, ${size}]`,
      );
    }
    const feeds: Record<string, HostTensor> = { image: hostTensor('float32', shape, slot0(stack)) };
    if (promptInputs) {
      if (!prompts) throw new MasamError('stack runner: the model is box-prompted, the stack has no prompts');
      feeds['boxes'] = hostTensor('float32', promptInputs.boxes, slot0(prompts.boxes));
      if (promptInputs.points > 0) {
        feeds['point_coords'] = hostTensor('float32', promptInputs.coords, slot0(prompts.pointCoords));
        feeds['point_labels'] = hostTensor('float32', promptInputs.labels, slot0(prompts.pointLabels, -1));
      }
    }
    const out = await session.run(feeds, ['masks']);
    const logits = out['masks']!.data as Float32Array;
    return batch === 1 ? logits : logits.subarray(0, logits.length / batch);
  };
}

/** The prompt inputs' shapes of a box-prompted model's session, checked against its metadata. */
function promptFeedShapes(
  session: Session,
  points: number,
  images: number,
): { boxes: number[]; coords: number[]; labels: number[]; points: number } {
  const expected: Record<string, number[]> = { boxes: [images, 4] };
  if (points > 0) {
    expected['point_coords'] = [images, points, 2];
    expected['point_labels'] = [images, points];
  }
  for (const [name, dims] of Object.entries(expected)) {
    const spec = session.inputs.find((s) => s.name === name);
    if (!spec || spec.dtype !== 'float32' || spec.shape.join() !== dims.join()) {
      throw new MasamError(
        `model: its metadata says box-prompted, but input '${name}' float32 [${dims.join(', ')}] is ` +
          (spec ? `${spec.dtype} [${spec.shape.join(', ')}]` : 'missing'),
      );
    }
  }
  return { boxes: expected['boxes']!, coords: [images, points, 2], labels: [images, points], points };
}
