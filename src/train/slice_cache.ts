// The preprocessed training/validation data (issue 4 item 7): every case's slice planes resized once to
// the model's S×S (cubic for images, nearest for labels, spec §8.1), kept in memory for fast random
// access; stacks are cut, normalised per stack (spec §8.2–8.4) and augmented per step.
import { MasamError } from '../core/errors.js';
import { type HostTensor, hostTensor } from '../core/host_tensor.js';
import type { Rng } from '../core/rng.js';
import { randomGenerator } from '../data/augment/index.js';
import { type Modality, finiteIntensities, normalizeMriVolume, normalizeStack } from '../data/intensity.js';
import { type PromptSpec, type StackPrompts, trainingPrompts } from '../data/prompts.js';
import { extractSlice, stackSliceIndices } from '../data/slices.js';
import { zoomToShape } from '../data/zoom.js';
import type { Volume } from '../io/volume.js';

/** One case's planes at the model size: image [nz, C, S, S] (C = 1 grey, 3 video), labels [nz, S, S]. */
export interface CachedCase {
  readonly id: string;
  readonly nz: number;
  readonly channels: number;
  readonly image: Float32Array;
  readonly label: Uint8Array;
}

export interface TrainingBatch {
  /** [b, d, 3, S, S] on the 0–1 scale. */
  readonly image: HostTensor<'float32'>;
  /** [b·d, S, S]. */
  readonly label: HostTensor<'int32'>;
  /** Box-prompted training: boxes [b·d, 4], point coords [b·d, P, 2] and labels [b·d, P]. */
  readonly prompts?: {
    readonly boxes: HostTensor<'float32'>;
    readonly pointCoords: HostTensor<'float32'>;
    readonly pointLabels: HostTensor<'float32'>;
  };
}

/**
 * Resizes every plane of `volume` (official orientation) to size×size: [nz, C, S, S]. uint8 data (video
 * frames) is zoomed as uint8, rounded and clipped as SciPy does (spec 8.4), exactly as inference prepares
 * it (infer/stacks.ts); anything else is zoomed as float.
 */
function planesAtSize(
  volume: Volume,
  size: number,
  order: 0 | 3,
): { data: Float32Array; nz: number; channels: number } {
  const nz = volume.shape[2]!;
  const channels = volume.shape[3] ?? 1;
  const bytes = volume.data instanceof Uint8Array;
  const out = new Float32Array(nz * channels * size * size);
  for (let z = 0; z < nz; z++) {
    const plane = extractSlice(volume, z); // [H, W] or [C, H, W]
    const [h, w] = plane.shape.slice(-2) as [number, number];
    const outShape = [...plane.shape.slice(0, -2), size, size];
    const resized =
      h === size && w === size
        ? plane
        : bytes
          ? zoomToShape(hostTensor('uint8', plane.shape, Uint8Array.from(plane.data)), outShape, { order })
          : zoomToShape(plane, outShape, { order });
    out.set(resized.data, z * channels * size * size);
  }
  return { data: out, nz, channels };
}

/** Prepares one labelled case (MRI volumes get the offline prostate normalisation first, spec §8.3). */
export function cacheCase(
  id: string,
  image: Volume,
  label: Volume,
  size: number,
  modality: Modality,
): CachedCase {
  if (
    image.shape[2] !== label.shape[2] ||
    image.shape[0] !== label.shape[0] ||
    image.shape[1] !== label.shape[1]
  ) {
    throw new MasamError(
      `case '${id}': image [${image.shape.join(', ')}] and label [${label.shape.join(', ')}] grids differ`,
    );
  }
  const source =
    modality === 'mri'
      ? { ...image, dtype: 'float32' as const, data: normalizeMriVolume(image.data as ArrayLike<number>) }
      : { ...image, data: finiteIntensities(image.data, modality) };
  const img = planesAtSize(source, size, 3);
  const lab = planesAtSize(label, size, 0);
  return { id, nz: img.nz, channels: img.channels, image: img.data, label: Uint8Array.from(lab.data) };
}

export class SliceCache {
  /** foregroundCentres per stack depth, computed once. */
  private readonly promptCentres = new Map<number, { caseIndex: number; centre: number }[]>();

  constructor(
    readonly cases: readonly CachedCase[],
    readonly size: number,
    readonly modality: Modality,
    /** Apply the official RandomGenerator augmentation to sampled batches (default true). */
    readonly augment = true,
  ) {
    if (cases.length === 0) throw new MasamError('no training cases');
  }

  /** Every (case, centre) pair: the sampling population. */
  get stackCount(): number {
    return this.cases.reduce((n, c) => n + c.nz, 0);
  }

  /**
   * One stack at model size, normalised: image [D, 3, S, S] (grey replicated ×3), label [D, S, S]. With
   * `rng`, the official RandomGenerator augmentation is applied (spec §8.6).
   */
  stack(
    caseIndex: number,
    centre: number,
    depth: number,
    rng?: Rng,
    variant?: 'official' | 'bbox',
  ): { image: Float32Array; label: Int32Array } {
    const c = this.cases[caseIndex]!;
    const s = this.size;
    const plane = s * s;
    const raw = new Float32Array(depth * c.channels * plane);
    const lab = new Float32Array(depth * plane);
    stackSliceIndices(c.nz, centre, depth).forEach((z, t) => {
      raw.set(c.image.subarray(z * c.channels * plane, (z + 1) * c.channels * plane), t * c.channels * plane);
      for (let i = 0; i < plane; i++) lab[t * plane + i] = c.label[z * plane + i]!;
    });
    let image: HostTensor<'float32'> = hostTensor(
      'float32',
      c.channels === 1 ? [depth, s, s] : [depth, c.channels, s, s],
      normalizeStack(raw, this.modality),
    );
    let label: HostTensor<'float32'> = hostTensor('float32', [depth, s, s], lab);
    if (rng) {
      ({ image, label } = randomGenerator(
        rng,
        { image, label },
        { outputSize: [s, s], variant: variant ?? 'official' },
      ));
    }
    const out = new Float32Array(depth * 3 * plane);
    for (let t = 0; t < depth; t++) {
      for (let ch = 0; ch < 3; ch++) {
        const from = c.channels === 1 ? t * plane : (t * c.channels + ch) * plane;
        out.set(image.data.subarray(from, from + plane), (t * 3 + ch) * plane);
      }
    }
    return { image: out, label: Int32Array.from(label.data, (v) => Math.round(v)) };
  }

  /**
   * A random batch of `batch` stacks, augmented unless disabled: uniform over all slices of all cases, or,
   * with `prompts` (box-prompted training, data/prompts.ts), over the stacks holding foreground, with the
   * bbox variant's augmentation and prompts derived from the augmented labels.
   */
  sampleBatch(batch: number, depth: number, rng: Rng, prompts?: PromptSpec): TrainingBatch {
    const s = this.size;
    const plane = s * s;
    const image = new Float32Array(batch * depth * 3 * plane);
    const label = new Int32Array(batch * depth * plane);
    const p = prompts?.points ?? 0;
    const boxes = new Float32Array(batch * depth * 4);
    const pointCoords = new Float32Array(batch * depth * p * 2);
    const pointLabels = new Float32Array(batch * depth * p);
    for (let b = 0; b < batch; b++) {
      let st: { image: Float32Array; label: Int32Array };
      if (prompts) {
        const population = this.foregroundCentres(depth);
        let drawn: StackPrompts | null = null;
        do {
          const { caseIndex, centre } = population[rng.int(population.length)]!;
          st = this.stack(caseIndex, centre, depth, this.augment ? rng : undefined, 'bbox');
          // Augmentation can move all foreground out of the plane: then draw again.
          if (hasForeground(st.label)) drawn = trainingPrompts(st.label, depth, s, prompts, rng);
        } while (!drawn);
        boxes.set(drawn.boxes, b * depth * 4);
        pointCoords.set(drawn.pointCoords, b * depth * p * 2);
        pointLabels.set(drawn.pointLabels, b * depth * p);
      } else {
        let k = rng.int(this.stackCount);
        let ci = 0;
        while (k >= this.cases[ci]!.nz) k -= this.cases[ci++]!.nz;
        st = this.stack(ci, k, depth, this.augment ? rng : undefined);
      }
      image.set(st.image, b * st.image.length);
      label.set(st.label, b * st.label.length);
    }
    return {
      image: hostTensor('float32', [batch, depth, 3, s, s], image),
      label: hostTensor('int32', [batch * depth, s, s], label),
      ...(prompts && {
        prompts: {
          boxes: hostTensor('float32', [batch * depth, 4], boxes),
          pointCoords: hostTensor('float32', [batch * depth, p, 2], pointCoords),
          pointLabels: hostTensor('float32', [batch * depth, p], pointLabels),
        },
      }),
    };
  }

  /** Every (case, centre) whose stack holds a foreground slice: where prompted inference runs. */
  foregroundCentres(depth: number): readonly { caseIndex: number; centre: number }[] {
    const known = this.promptCentres.get(depth);
    if (known) return known;
    const plane = this.size * this.size;
    const centres: { caseIndex: number; centre: number }[] = [];
    this.cases.forEach((c, caseIndex) => {
      const fg = Array.from({ length: c.nz }, (_, z) =>
        hasForeground(c.label.subarray(z * plane, (z + 1) * plane)),
      );
      for (let centre = 0; centre < c.nz; centre++)
        if (stackSliceIndices(c.nz, centre, depth).some((z) => fg[z])) centres.push({ caseIndex, centre });
    });
    if (centres.length === 0)
      throw new MasamError('box-prompted training needs labelled foreground: no case has any');
    this.promptCentres.set(depth, centres);
    return centres;
  }
}

function hasForeground(label: ArrayLike<number>): boolean {
  for (let i = 0; i < label.length; i++) if (label[i]! > 0) return true;
  return false;
}
