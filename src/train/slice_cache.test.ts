// The training cache feeds the model what inference feeds it, through the one preparation path
// (data/model_planes.ts): for every modality, with and without a resize, NaN/±Inf voxels included, an
// unaugmented stack from SliceCache is bit for bit the stack `segmentVolume` sends the model for the same
// centre; labels sit on the same planes as the image; the on-disk form reads back unchanged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../core/rng.js';
import type { Modality } from '../data/intensity.js';
import type { ModelInfo } from '../infer/model_info.js';
import { VolumeSegmenter } from '../infer/segment.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { IDENTITY_AFFINE, type Volume } from '../io/volume.js';
import { resolveConfig } from '../models/sam/config.js';
import { fnModel } from '../../test/stack_models.js';
import { SliceCache, cacheCase, cachedCaseFromTensors, cachedCaseTensors } from './slice_cache.js';

const S = 16;
const D = 3;

function info(modality: Modality): ModelInfo {
  const config = resolveConfig({ preset: 'small', img_size: S, num_classes: 1, slices: D });
  return { config, classNames: ['background', 'fg'], preprocessing: { modality }, slices: D, imageSize: S };
}

/**
 * A random image [nx, ny, 5] and labels: RGB frames (uint8), int16 HU on the model grid, else float32 (HU or
 * MRI) with NaN/±Inf voxels.
 */
function volumes(modality: Modality, nx: number, ny: number, rng: Rng): { image: Volume; label: Volume } {
  const nz = 5;
  const n = nx * ny * nz;
  let image: Volume;
  if (modality === 'video') {
    image = {
      data: Uint8Array.from({ length: 3 * n }, () => rng.int(256)),
      dtype: 'uint8',
      shape: [nx, ny, nz, 3],
      spacing: [1, 1, 1, 1],
      affine: IDENTITY_AFFINE,
    };
  } else if (modality === 'ct' && nx === S) {
    image = {
      data: Int16Array.from({ length: n }, () => rng.int(2400) - 1200),
      dtype: 'int16',
      shape: [nx, ny, nz],
      spacing: [1, 1, 1],
      affine: IDENTITY_AFFINE,
    };
  } else {
    const scale = modality === 'ct' ? 2400 : 300;
    const data = Float32Array.from(
      { length: n },
      () => rng.uniform() * scale - (modality === 'ct' ? 1200 : 0),
    );
    data[7] = Number.NaN;
    data[nx * ny + 5] = Number.POSITIVE_INFINITY;
    data[2 * nx * ny + 11] = Number.NEGATIVE_INFINITY;
    image = { data, dtype: 'float32', shape: [nx, ny, nz], spacing: [1, 1, 1], affine: IDENTITY_AFFINE };
  }
  const label: Volume = {
    data: Uint8Array.from({ length: n }, () => rng.int(2)),
    dtype: 'uint8',
    shape: [nx, ny, nz],
    spacing: [1, 1, 1],
    affine: IDENTITY_AFFINE,
  };
  return { image, label };
}

/** The stacks `segmentVolume`'s sweep sends the model, by centre (stride 1: every slice is a centre). */
async function inferenceStacks(image: Volume, modality: Modality): Promise<Float32Array[]> {
  const seen: Float32Array[] = [];
  const i = info(modality);
  const model = fnModel(i, async (stack) => {
    seen.push(stack.slice());
    return new Float32Array(D * 2 * S * S);
  });
  await new VolumeSegmenter(image, model).segment();
  return seen;
}

describe('SliceCache', () => {
  const shapes: [Modality, number, number][] = [
    ['ct', 21, 13], // NaN/±Inf voxels, replaced before the zoom to 16 × 16
    ['ct', S, S], // int16 on the model grid already
    ['mri', 21, 13], // NaN/±Inf voxels
    ['video', 21, 13],
  ];
  for (const [modality, nx, ny] of shapes) {
    it(`feeds ${modality} ${nx}×${ny} stacks bit-equal to inference's for every centre`, async () => {
      const { image, label } = volumes(modality, nx, ny, new Rng(11));
      const cache = new SliceCache([cacheCase('c', image, label, S, modality)], S, modality, false);
      const inferred = await inferenceStacks(image, modality);
      assert.equal(inferred.length, 5);
      inferred.forEach((stack, centre) => {
        assert.deepEqual(cache.stack(0, centre, D).image, stack, `centre ${centre}`);
      });
      // The cache holds inference's grid itself, not a copy prepared another way.
      const grid = new VolumeSegmenter(
        image,
        fnModel(info(modality), async () => new Float32Array()),
      ).grid;
      assert.deepEqual(cache.cases[0]!.grid.volume, grid.volume);
    });
  }

  it('puts labels on the planes of the image (orientation and nearest zoom)', () => {
    // One marked voxel (i, j) = (0, 0) on slice 2, in the image (bright) and in the labels (class 1).
    const [nx, ny, nz] = [21, 13, 5];
    const image: Volume = {
      data: new Int16Array(nx * ny * nz).fill(-1000),
      dtype: 'int16',
      shape: [nx, ny, nz],
      spacing: [1, 1, 1],
      affine: IDENTITY_AFFINE,
    };
    image.data[2 * nx * ny] = 1000;
    const label: Volume = { ...image, data: new Uint8Array(nx * ny * nz), dtype: 'uint8' };
    label.data[2 * nx * ny] = 1;
    const cache = new SliceCache([cacheCase('c', image, label, S, 'ct')], S, 'ct', false);
    const { image: stack, label: labels } = cache.stack(0, 2, D);
    // Official orientation: vol[nx−1−c, ny−1−r], so voxel (0, 0) is the last pixel of the plane (row S−1,
    // column S−1), where the corner-aligned zoom keeps it. Slice 2 is position t = 1 of the stack.
    const plane = S * S;
    const at = plane + plane - 1;
    assert.equal(labels[at], 1);
    assert.equal(
      labels.reduce((a, v) => a + v, 0),
      1,
      'one labelled pixel',
    );
    assert.equal(stack[3 * plane + plane - 1], 1, 'the bright voxel, channel 0 of t = 1');
    assert.ok(stack[3 * plane + plane - 2]! < 0.5);
  });

  it('refuses a label grid that differs from the image, naming the case', () => {
    const { image } = volumes('ct', 21, 13, new Rng(1));
    const { label } = volumes('ct', 21, 12, new Rng(1));
    assert.throws(
      () => cacheCase('case_7', image, label, S, 'ct'),
      /case 'case_7': label \[21, 12, 5\] and image \[21, 13, 5\] grids differ/,
    );
  });

  for (const modality of ['ct', 'video'] as const) {
    it(`reads a ${modality} case back from its tensors unchanged, and refuses another size`, () => {
      const { image, label } = volumes(modality, 21, 13, new Rng(5));
      const cached = cacheCase('c', image, label, S, modality);
      const bytes = writeSafetensors(cachedCaseTensors(cached));
      const { tensors } = readSafetensors(bytes, 'c.safetensors');
      const back = cachedCaseFromTensors('c', tensors, S, modality, 'c.safetensors');
      assert.deepEqual(back, cached);
      assert.throws(
        () => cachedCaseFromTensors('c', tensors, 32, modality, 'c.safetensors'),
        new RegExp(`c.safetensors: not a slice cache of ${modality} planes at 32 px`),
      );
    });
  }
});
