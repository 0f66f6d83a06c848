// The preprocessed training/validation data (issue 4 item 7): every case brought once onto the model's grid
// by the path inference takes (data/model_planes.ts: same NaN replacement, MRI normalisation, cubic zoom of
// the image planes; nearest zoom of the label planes), kept in memory for fast random access; stacks are
// cut and normalised per step exactly as inference cuts them, then augmented.
import { type DType, dtypeOfArray } from '../core/dtype.js';
import { MasamError } from '../core/errors.js';
import { type HostTensor, hostTensor } from '../core/host_tensor.js';
import type { Rng } from '../core/rng.js';
import { randomGenerator } from '../data/augment/index.js';
import { CT_WINDOW, type Modality } from '../data/intensity.js';
import {
  type LabelGrid,
  type ModelGrid,
  labelStack,
  normalisedStack,
  prepareLabelGrid,
  prepareModelGrid,
  stackInput,
} from '../data/model_planes.js';
import { type PromptSpec, type StackPrompts, trainingPrompts } from '../data/prompts.js';
import { type VolumeLike, stackSliceIndices } from '../data/slices.js';
import type { Volume } from '../io/volume.js';

/** One case on the model's grid: the image as inference prepares it, the labels on the same planes. */
export interface CachedCase {
  readonly id: string;
  /** The image on the model grid (data/model_planes.ts, prepareModelGrid). */
  readonly grid: ModelGrid;
  /** The labels on the same grid (prepareLabelGrid). */
  readonly label: LabelGrid;
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
 * Prepares one labelled case for a model taking `modality` at side `size` (MRI volumes get the offline
 * prostate normalisation first, spec §8.3).
 * @throws MasamError naming the case when the image does not fit the modality or the label's grid differs
 */
export function cacheCase(
  id: string,
  image: Volume,
  label: Volume,
  size: number,
  modality: Modality,
): CachedCase {
  const source = `case '${id}'`;
  const grid = prepareModelGrid(image, { modality, size }, source);
  return { id, grid, label: prepareLabelGrid(label, grid, source) };
}

/**
 * A cached case as named tensors (for a file): image [nz, S, S] or [3, nz, S, S] in the grid's dtype,
 * label uint8 [nz, S, S], and the input's dimensions int32 [nx, ny, nz, nc].
 */
export function cachedCaseTensors(c: CachedCase): [string, HostTensor][] {
  const { nx, ny, nz, nc } = c.grid.input;
  const s = c.grid.size;
  const data = c.grid.volume.data;
  return [
    ['image', hostTensor(dtypeOfArray(data), nc === 3 ? [3, nz, s, s] : [nz, s, s], data as never)],
    ['label', hostTensor('uint8', [nz, s, s], c.label.data)],
    ['input', hostTensor('int32', [4], Int32Array.from([nx, ny, nz, nc]))],
  ];
}

/** Image dtypes a grid holds: the zoom's float32 and uint8, or a volume's own type when no zoom ran. */
const GRID_DTYPES = new Set<DType>([
  'float32',
  'float64',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
]);

/**
 * The case `cachedCaseTensors` wrote, for a model taking `modality` at side `size`.
 * @throws MasamError naming `source` when a tensor is missing or does not fit
 */
export function cachedCaseFromTensors(
  id: string,
  tensors: ReadonlyMap<string, HostTensor>,
  size: number,
  modality: Modality,
  source: string,
): CachedCase {
  const image = tensors.get('image');
  const label = tensors.get('label');
  const dims = tensors.get('input');
  const [nx, ny, nz, nc] = dims ? Array.from(dims.data as Int32Array) : [];
  const imageShape = nc === 3 ? [3, nz, size, size] : [nz, size, size];
  if (
    !image ||
    !label ||
    !dims ||
    dims.dtype !== 'int32' ||
    dims.data.length !== 4 ||
    !(nc === 1 || nc === 3) ||
    !GRID_DTYPES.has(image.dtype) ||
    image.shape.join() !== imageShape.join() ||
    label.dtype !== 'uint8' ||
    label.shape.join() !== [nz, size, size].join()
  ) {
    throw new MasamError(`${source}: not a slice cache of ${modality} planes at ${size} px`);
  }
  return {
    id,
    grid: {
      volume: {
        shape: nc === 3 ? [size, size, nz!, 3] : [size, size, nz!],
        data: image.data as VolumeLike['data'],
      },
      input: { nx: nx!, ny: ny!, nz: nz!, nc },
      modality,
      window: CT_WINDOW,
      size,
    },
    label: { shape: [size, size, nz!], data: label.data as Uint8Array },
  };
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
    for (const c of cases) {
      if (c.grid.size !== size || c.grid.modality !== modality)
        throw new MasamError(
          `case '${c.id}': prepared as ${c.grid.modality} at ${c.grid.size} px, ` +
            `the cache holds ${modality} at ${size} px`,
        );
    }
  }

  /** Every (case, centre) pair: the sampling population. */
  get stackCount(): number {
    return this.cases.reduce((n, c) => n + c.grid.input.nz, 0);
  }

  /**
   * One stack at model size, normalised: image [D, 3, S, S] (grey replicated ×3), label [D, S, S]. Without
   * `rng` the image is the stack inference feeds for the same centre (data/model_planes.ts); with `rng`, the
   * official RandomGenerator augmentation is applied to the normalised stack (spec §8.6).
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
    let image = normalisedStack(c.grid, centre, depth);
    let label = labelStack(c.label, centre, depth);
    if (rng) {
      ({ image, label } = randomGenerator(
        rng,
        { image, label },
        { outputSize: [s, s], variant: variant ?? 'official' },
      ));
    }
    return { image: stackInput(image, 3), label: Int32Array.from(label.data, (v) => Math.round(v)) };
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
        while (k >= this.cases[ci]!.grid.input.nz) k -= this.cases[ci++]!.grid.input.nz;
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
      const nz = c.grid.input.nz;
      const fg = Array.from({ length: nz }, (_, z) =>
        hasForeground(c.label.data.subarray(z * plane, (z + 1) * plane)),
      );
      for (let centre = 0; centre < nz; centre++)
        if (stackSliceIndices(nz, centre, depth).some((z) => fg[z])) centres.push({ caseIndex, centre });
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
