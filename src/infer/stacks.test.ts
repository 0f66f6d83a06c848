// Tests of the NaN/±Inf policy in volumetric inference (stacks.ts with data/intensity.ts): one non-finite
// voxel changes the labels at most next to itself, instead of blanking every stack that holds it (issue 10).
// The training cache replaces them on the same path (train/slice_cache.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatError } from '../core/errors.js';
import type { Volume } from '../io/volume.js';
import { IDENTITY_AFFINE } from '../io/volume.js';
import { resolveConfig } from '../models/sam/config.js';
import type { ModelInfo, Preprocessing } from './model_info.js';
import { type StackFunction, fnModel } from '../../test/stack_models.js';
import { segmentVolume } from './segment.js';
import { nonFiniteVoxelWarning, prepareModelGrid } from './stacks.js';

const K = 3;

function infoFor(modality: Preprocessing['modality'], size: number): ModelInfo {
  const config = resolveConfig({ preset: 'small', img_size: size, patch_size: 16, num_classes: K - 1 });
  return {
    config,
    classNames: ['background', 'a', 'b'],
    preprocessing: { modality },
    slices: 5,
    imageSize: size,
  };
}

/**
 * Logits [D, K, S, S]: 4 for the class of each normalised input pixel (thresholds 0.3 and 0.7). Like a
 * real model (attention, the 3D adapters), every logit also depends on the whole stack — here through
 * 0·sum, which is 0 for finite input and NaN as soon as one input value is NaN or infinite.
 */
function mixingRunner(info: ModelInfo): StackFunction {
  const plane = info.imageSize * info.imageSize;
  return async (stack) => {
    const mix = 0 * stack.reduce((a, v) => a + v, 0);
    const out = new Float32Array(info.slices * K * plane).fill(mix);
    for (let t = 0; t < info.slices; t++) {
      for (let p = 0; p < plane; p++) {
        const v = stack[t * 3 * plane + p]!;
        const c = v < 0.3 ? 0 : v < 0.7 ? 1 : 2;
        out[(t * K + c) * plane + p] += 4;
      }
    }
    return out;
  };
}

/** A float32 volume [n, n, nz] of three intensity levels; every slice holds the lowest and the highest. */
function volume(n: number, nz: number, levels: readonly number[]): Volume<'float32'> {
  const data = new Float32Array(n * n * nz);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < n; j++)
      for (let i = 0; i < n; i++) data[i + n * (j + n * k)] = levels[(i * i + 3 * j + k) % levels.length]!;
  return { data, dtype: 'float32', shape: [n, n, nz], spacing: [1, 1, 1], affine: IDENTITY_AFFINE };
}

/** Voxels (i, j, k) where two label maps differ. */
function differences(a: Uint8Array, b: Uint8Array, n: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let p = 0; p < a.length; p++) {
    if (a[p] !== b[p]) out.push([p % n, Math.floor(p / n) % n, Math.floor(p / (n * n))]);
  }
  return out;
}

describe('non-finite voxels in volumetric inference', () => {
  const cases: { modality: Preprocessing['modality']; n: number; levels: number[] }[] = [
    { modality: 'ct', n: 16, levels: [-1000, 20, 1000] }, // on the model grid: no zoom
    { modality: 'ct', n: 12, levels: [-1000, 20, 1000] }, // zoomed 12 → 16 after the replacement
    { modality: 'mri', n: 16, levels: [0, 50, 100] },
  ];
  for (const { modality, n, levels } of cases) {
    it(`${modality} ${n}×${n}: one NaN and one Inf voxel change labels only next to themselves`, async () => {
      const info = infoFor(modality, 16);
      const clean = volume(n, 9, levels);
      const dirty = { ...clean, data: clean.data.slice() };
      const at = (i: number, j: number, k: number) => i + n * (j + n * k);
      dirty.data[at(5, 6, 2)] = Number.NaN;
      dirty.data[at(9, 3, 6)] = Number.POSITIVE_INFINITY;
      const a = (await segmentVolume(clean, fnModel(info, mixingRunner(info)))).labels.data as Uint8Array;
      const b = (await segmentVolume(dirty, fnModel(info, mixingRunner(info)))).labels.data as Uint8Array;
      const near = ([i, j, k]: number[], [ci, cj, ck]: number[]) =>
        k === ck && Math.abs(i! - ci!) <= 2 && Math.abs(j! - cj!) <= 2;
      const far = differences(a, b, n).filter((v) => !near(v, [5, 6, 2]) && !near(v, [9, 3, 6]));
      assert.deepEqual(far, [], 'labels differ away from the non-finite voxels');
      // Not blank: the slices around the NaN keep their foreground.
      const plane = n * n;
      for (let k = 0; k <= 4; k++)
        assert.ok(
          b.subarray(k * plane, (k + 1) * plane).some((l) => l > 0),
          `slice ${k}`,
        );
    });
  }

  it('warns with the count and the replacement, and refuses in strict mode naming the file', () => {
    const info = infoFor('ct', 16);
    const v = volume(16, 9, [-1000, 20, 1000]);
    assert.equal(nonFiniteVoxelWarning(v, info, 'clean.nii'), undefined);
    v.data[3] = Number.NaN;
    v.data[7] = Number.NEGATIVE_INFINITY;
    v.data[9] = Number.NaN;
    assert.equal(
      nonFiniteVoxelWarning(v, info, 'scan.nii.gz'),
      'scan.nii.gz: 3 NaN/Inf voxels replaced (NaN and −Inf → -200 HU (the window minimum), +Inf → 250 HU (the window maximum))',
    );
    for (const call of [
      () => nonFiniteVoxelWarning(v, info, 'scan.nii.gz', { strict: true }),
      () => prepareModelGrid(v, info, 'scan.nii.gz', { strict: true }),
    ]) {
      assert.throws(
        call,
        (e: unknown) =>
          e instanceof FormatError && e.message === 'scan.nii.gz: 3 NaN/Inf voxels (refused in strict mode)',
      );
    }
  });

  it('segmentVolume with strict refuses them, naming the source', async () => {
    const info = infoFor('ct', 16);
    const v = volume(16, 9, [-1000, 20, 1000]);
    v.data[40] = Number.POSITIVE_INFINITY;
    await assert.rejects(
      segmentVolume(v, fnModel(info, mixingRunner(info)), { strict: true, source: 'scan.nii' }),
      (e: unknown) =>
        e instanceof FormatError && e.message === 'scan.nii: 1 NaN/Inf voxel (refused in strict mode)',
    );
  });
});
