// Validation Dice (validation.ts) is the Dice of what `masam segment --stride D` predicts: a hand-computed
// case, and equality with segmentVolume's labels for models whose outputs differ per stack (so the last,
// overlapping stack and the averaging show), with and without box prompts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type SlicePrompt, type StackPrompts, foregroundBox } from '../data/prompts.js';
import { extractSlice } from '../data/slices.js';
import type { StackRunner } from '../data/stack_sweep.js';
import type { ModelInfo } from '../infer/model_info.js';
import { segmentVolume } from '../infer/segment.js';
import { IDENTITY_AFFINE, type Volume } from '../io/volume.js';
import { dicePerClass } from '../metrics/dice.js';
import { resolveConfig } from '../models/sam/config.js';
import { fnModel } from '../../test/stack_models.js';
import { cacheCase } from './slice_cache.js';
import { validationDice } from './validation.js';

const S = 16;
const D = 3;
const K = 3;
const STACK = { depth: D, channels: 3 };

/** The class of a normalised input value (every slice below holds −1000 and 1000 HU: the window's ends). */
const classOf = (v: number) => (v < 0.3 ? 0 : v < 0.7 ? 1 : 2);
/** The class of a HU value through the CT window −200..250. */
const classOfHu = (hu: number) => classOf((Math.min(Math.max(hu, -200), 250) + 200) / 450);

/**
 * Logits [D, K, S, S] of one stack [D, 3, S, S]: 4 for the class of each pixel, plus bias(call, t, c); a
 * prompted stack's pixels outside their slice's box are background.
 */
function classifier(bias: (call: number, t: number, c: number) => number = () => 0) {
  let call = 0;
  return async (stack: Float32Array, prompts?: StackPrompts): Promise<Float32Array> => {
    const out = new Float32Array(D * K * S * S);
    for (let t = 0; t < D; t++) {
      const box = prompts?.boxes.subarray(t * 4, t * 4 + 4);
      for (let p = 0; p < S * S; p++) {
        const [x, y] = [p % S, Math.floor(p / S)];
        const inside = !box || (x >= box[0]! && x <= box[2]! && y >= box[1]! && y <= box[3]!);
        const cls = inside ? classOf(stack[t * 3 * S * S + p]!) : 0;
        for (let c = 0; c < K; c++) out[(t * K + c) * S * S + p] = (c === cls ? 4 : 0) + bias(call, t, c);
      }
    }
    call++;
    return out;
  };
}

function runner(fn: ReturnType<typeof classifier>): StackRunner {
  return { batch: 1, logits: async (stacks, prompts) => [await fn(stacks[0]!, prompts?.[0])] };
}

function volume(
  nz: number,
  value: (i: number, j: number, k: number) => number,
  dtype: 'int16' | 'uint8',
): Volume {
  const n = S * S * nz;
  const data = dtype === 'int16' ? new Int16Array(n) : new Uint8Array(n);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < S; j++) for (let i = 0; i < S; i++) data[i + S * (j + S * k)] = value(i, j, k);
  return { data, dtype, shape: [S, S, nz], spacing: [1, 1, 1], affine: IDENTITY_AFFINE } as Volume;
}

describe('validationDice', () => {
  it('is 0.8 and 1 on a hand-computed case (4 of 6 class-1 voxels found, class 2 exact)', async () => {
    // Each slice: −1000 HU, a 4×4 block of 1000 HU (class 2) and a 2×2 block of 20 HU (class 1, 0.49 after
    // the window); the labels mark the 4×4 block and a 3×2 block holding the 2×2 one.
    const inBlock = (i: number, j: number, i0: number, j0: number, w: number, h: number) =>
      i >= i0 && i < i0 + w && j >= j0 && j < j0 + h;
    const image = volume(
      7,
      (i, j) => (inBlock(i, j, 2, 2, 4, 4) ? 1000 : inBlock(i, j, 10, 10, 2, 2) ? 20 : -1000),
      'int16',
    );
    const label = volume(
      7,
      (i, j) => (inBlock(i, j, 2, 2, 4, 4) ? 2 : inBlock(i, j, 10, 10, 3, 2) ? 1 : 0),
      'uint8',
    );
    const r = await validationDice([cacheCase('c', image, label, S, 'ct')], runner(classifier()), {
      stack: STACK,
      classes: 2,
    });
    assert.ok(Math.abs(r.perClass[0]! - 0.8) < 1e-12, `class 1: ${r.perClass[0]}`);
    assert.equal(r.perClass[1], 1);
    assert.ok(Math.abs(r.mean - 0.9) < 1e-12);
  });

  for (const prompted of [false, true]) {
    it(`equals the Dice of segmentVolume's labels at stride D${prompted ? ' with the true boxes' : ''}`, async () => {
      const nz = 10; // stride D leaves slice 9: the last stack (centre 8) overlaps its neighbour (centre 7)
      const hu = [-1000, -150, 20, 180, 1000];
      const image = volume(nz, (i, j, k) => hu[(i * i + 3 * j + 2 * k * k + k) % 5]!, 'int16');
      // Labels: the model's classes, with slices 0 and 5 wrong and slice 6 empty (no box there).
      const label = volume(
        nz,
        (i, j, k) =>
          k === 6 ? 0 : (classOfHu(hu[(i * i + 3 * j + 2 * k * k + k) % 5]!) + (k % 5 === 0 ? 1 : 0)) % K,
        'uint8',
      );
      const bias = (call: number, t: number, c: number) => 4.5 * Math.sin(1.7 * t + 0.9 * c + 0.37 * call);
      const info: ModelInfo = {
        config: resolveConfig({ preset: 'small', img_size: S, patch_size: 16, num_classes: K - 1 }),
        classNames: ['background', 'a', 'b'],
        preprocessing: { modality: 'ct' },
        slices: D,
        imageSize: S,
        ...(prompted && { prompts: { points: 0 } }),
      };
      const prompts: (SlicePrompt | null)[] = Array.from({ length: nz }, (_, z) => {
        const box = foregroundBox(extractSlice(label, z).data, S);
        return box && { box, points: [] };
      });
      const segmented = await segmentVolume(image, fnModel(info, classifier(bias)), {
        stride: D,
        ...(prompted && { prompts }),
      });
      const want = dicePerClass(
        { data: segmented.labels.data, shape: [S, S, nz] },
        { data: label.data as Uint8Array, shape: [S, S, nz] },
        K - 1,
      );
      const got = await validationDice([cacheCase('c', image, label, S, 'ct')], runner(classifier(bias)), {
        stack: STACK,
        classes: K - 1,
        ...(prompted && { prompts: { points: 0 } }),
      });
      assert.deepEqual(got.perClass, want);
      assert.ok(
        want.some((d) => d > 0 && d < 1),
        'a case with partial overlap',
      );
    });
  }
});
