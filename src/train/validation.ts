// Validation Dice during training (spec §9): every validation case predicted on the model grid by the sweep
// `masam segment --stride D` runs (data/stack_sweep.ts) — non-overlapping stacks, the last one placed inside
// the volume and averaged with its neighbour where they overlap — then Dice per class against its labels.
import { hostTensor } from '../core/host_tensor.js';
import type { StackShape } from '../data/model_planes.js';
import { type PromptSpec, type SlicePrompt, foregroundBox } from '../data/prompts.js';
import { argmaxClasses, extractSlice } from '../data/slices.js';
import { type StackRunner, sweepStacks } from '../data/stack_sweep.js';
import { dicePerClass } from '../metrics/dice.js';
import type { CachedCase } from './slice_cache.js';

export interface ValidationOptions {
  /** D and C of the model's input stacks; D is also the stride. */
  readonly stack: StackShape;
  /** Foreground classes (num_classes); the logits have one more, the background. */
  readonly classes: number;
  /** A box-prompted model's prompt slots: it gets the tight box of the true labels of each slice. */
  readonly prompts?: PromptSpec;
}

/** The labels of `c` as the model grid's class map, uint8 [S, S, nz] i fastest, predicted by `model`. */
export async function predictCase(
  c: CachedCase,
  model: StackRunner,
  options: ValidationOptions,
): Promise<Uint8Array> {
  const { nz } = c.grid.input;
  const s = c.grid.size;
  const plane = s * s;
  const k = options.classes + 1;
  const spec = options.prompts;
  // The true tight boxes on the model plane (official orientation), without jitter or points, as users
  // give boxes; a slice without foreground has none and is background.
  const slices: (SlicePrompt | null)[] | undefined =
    spec &&
    Array.from({ length: nz }, (_, z) => {
      const box = foregroundBox(extractSlice(c.label, z).data, s);
      return box && { box, points: [] };
    });
  const pred = new Uint8Array(nz * plane);
  await sweepStacks(
    c.grid,
    model,
    {
      stack: options.stack,
      classes: k,
      stride: options.stack.depth,
      ...(spec && slices && { prompts: { slices, spec } }),
      name: 'validation',
    },
    (z, mean) => {
      if (!mean) return; // background
      const best = argmaxClasses(hostTensor('float32', [1, k, s, s], mean));
      // The official orientation is the stored plane's memory reversed (data/slices.ts).
      for (let p = 0; p < plane; p++) pred[z * plane + plane - 1 - p] = best[p]!;
    },
  );
  return pred;
}

/**
 * Dice per class (1..classes, official empty-mask rules) of `model` on `cases`, the mean over cases of each
 * class, and the mean over classes.
 */
export async function validationDice(
  cases: readonly CachedCase[],
  model: StackRunner,
  options: ValidationOptions,
): Promise<{ perClass: number[]; mean: number }> {
  const sums = new Array<number>(options.classes).fill(0);
  for (const c of cases) {
    const shape = c.label.shape;
    const pred = await predictCase(c, model, options);
    const dice = dicePerClass({ data: pred, shape }, { data: c.label.data, shape }, options.classes);
    dice.forEach((v, i) => {
      sums[i] += v;
    });
  }
  const perClass = sums.map((v) => v / cases.length);
  return { perClass, mean: perClass.reduce((a, b) => a + b, 0) / perClass.length };
}
