// The training cache must feed the model what inference feeds it: for every modality, an unaugmented stack
// from SliceCache equals modelStack's (infer/stacks.ts) for the same volume, after each path's resize.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../core/rng.js';
import type { Modality } from '../data/intensity.js';
import type { ModelInfo } from '../infer/model_info.js';
import { modelStack, prepareModelGrid } from '../infer/stacks.js';
import { IDENTITY_AFFINE, type Volume } from '../io/volume.js';
import { resolveConfig } from '../models/sam/config.js';
import { SliceCache, cacheCase } from './slice_cache.js';

const S = 16;
const D = 3;

function info(modality: Modality): ModelInfo {
  const config = resolveConfig({ preset: 'small', img_size: S, num_classes: 1, slices: D });
  return { config, classNames: ['background', 'fg'], preprocessing: { modality }, slices: D, imageSize: S };
}

function volumes(modality: Modality, rng: Rng): { image: Volume; label: Volume } {
  const [nx, ny, nz] = [21, 13, 4];
  const rgb = modality === 'video';
  const n = nx * ny * nz * (rgb ? 3 : 1);
  const image: Volume = rgb
    ? {
        data: Uint8Array.from({ length: n }, () => rng.int(256)),
        dtype: 'uint8',
        shape: [nx, ny, nz, 3],
        spacing: [1, 1, 1, 1],
        affine: IDENTITY_AFFINE,
      }
    : {
        data: Int16Array.from({ length: n }, () => rng.int(2400) - 1200),
        dtype: 'int16',
        shape: [nx, ny, nz],
        spacing: [1, 1, 1],
        affine: IDENTITY_AFFINE,
      };
  const label: Volume = {
    data: Uint8Array.from({ length: nx * ny * nz }, () => rng.int(2)),
    dtype: 'uint8',
    shape: [nx, ny, nz],
    spacing: [1, 1, 1],
    affine: IDENTITY_AFFINE,
  };
  return { image, label };
}

describe('SliceCache', () => {
  for (const modality of ['ct', 'mri', 'video'] as const) {
    it(`feeds ${modality} stacks equal to inference's (resize, orientation, normalisation)`, () => {
      const { image, label } = volumes(modality, new Rng(11));
      const cache = new SliceCache([cacheCase('c', image, label, S, modality)], S, modality, false);
      const grid = prepareModelGrid(image, info(modality));
      for (let centre = 0; centre < 4; centre++) {
        const trained = cache.stack(0, centre, D).image;
        const inferred = modelStack(grid, centre);
        let worst = 0;
        for (let i = 0; i < trained.length; i++)
          worst = Math.max(worst, Math.abs(trained[i]! - inferred[i]!));
        assert.ok(worst <= 1e-6, `centre ${centre}: training and inference inputs differ by ${worst}`);
      }
    });
  }
});
