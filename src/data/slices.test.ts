import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostTensor } from '../core/host_tensor.js';
import { IDENTITY_AFFINE, type Volume } from '../io/volume.js';
import {
  argmaxClasses,
  extractSlice,
  extractStack,
  planesToVolume,
  repeatChannels,
  stackCentres,
  stackSliceIndices,
} from './slices.js';

/** A [nx, ny, nz] float32 volume with value i + 10·j + 100·k. */
function coordVolume(nx: number, ny: number, nz: number): Volume<'float32'> {
  const data = new Float32Array(nx * ny * nz);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) data[i + nx * (j + ny * k)] = i + 10 * j + 100 * k;
  }
  return { data, dtype: 'float32', shape: [nx, ny, nz], spacing: [1, 1, 1], affine: IDENTITY_AFFINE };
}

describe('stacks (spec 8.1)', () => {
  it('clamps neighbours at the first and last slice (edge replication)', () => {
    assert.deepEqual(stackSliceIndices(10, 0), [0, 0, 0, 1, 2]);
    assert.deepEqual(stackSliceIndices(10, 1), [0, 0, 1, 2, 3]);
    assert.deepEqual(stackSliceIndices(10, 5), [3, 4, 5, 6, 7]);
    assert.deepEqual(stackSliceIndices(10, 9), [7, 8, 9, 9, 9]);
    assert.deepEqual(stackSliceIndices(1, 0), [0, 0, 0, 0, 0]);
    assert.deepEqual(stackSliceIndices(4, 0, 3), [0, 0, 1]);
  });

  it('rejects an even depth and a centre outside the volume', () => {
    assert.throws(() => stackSliceIndices(10, 0, 4), /odd/);
    assert.throws(() => stackSliceIndices(10, 10), /outside/);
  });

  it('orients a slice as out[r, c] = vol[nx−1−c, ny−1−r] (rot90 then flip of axis 1)', () => {
    const vol = coordVolume(3, 2, 1);
    const s = extractSlice(vol, 0);
    assert.deepEqual(s.shape, [2, 3]);
    assert.deepEqual(Array.from(s.data), [12, 11, 10, 2, 1, 0]);
    const none = extractSlice(vol, 0, 'none');
    assert.deepEqual(none.shape, [3, 2]);
    assert.deepEqual(Array.from(none.data), [0, 10, 1, 11, 2, 12]);
  });

  it('builds [D, H, W] stacks from the clamped slices', () => {
    const vol = coordVolume(3, 2, 4);
    const st = extractStack(vol, 0);
    assert.deepEqual(st.shape, [5, 2, 3]);
    // The top-left pixel of each plane is vol[2, 1, k] = 12 + 100·k for k = 0, 0, 0, 1, 2.
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((t) => st.data[t * 6]),
      [12, 12, 12, 112, 212],
    );
  });

  it('gives [D, C, H, W] stacks for a 4D (channel-last) volume', () => {
    const nx = 2;
    const ny = 2;
    const nz = 3;
    const data = new Uint8Array(nx * ny * nz * 3);
    for (let ch = 0; ch < 3; ch++)
      for (let k = 0; k < nz; k++) data.fill(10 * ch + k, 4 * (k + nz * ch), 4 * (k + nz * ch) + 4);
    const vol: Volume<'uint8'> = {
      data,
      dtype: 'uint8',
      shape: [nx, ny, nz, 3],
      spacing: [1, 1, 1, 1],
      affine: IDENTITY_AFFINE,
    };
    const st = extractStack(vol, 2, { depth: 3 });
    assert.deepEqual(st.shape, [3, 3, 2, 2]);
    // depth positions → slices 1, 2, 2; channel ch → value 10·ch + k.
    assert.deepEqual(
      [0, 1, 2].map((t) => [0, 1, 2].map((ch) => st.data[(t * 3 + ch) * 4])),
      [
        [1, 11, 21],
        [2, 12, 22],
        [2, 12, 22],
      ],
    );
  });

  it('replicates a grey stack into 3 channels for the model', () => {
    const st = extractStack(coordVolume(3, 2, 4), 1);
    const input = repeatChannels(st);
    assert.deepEqual(input.shape, [5, 3, 2, 3]);
    for (let t = 0; t < 5; t++) {
      for (let c = 0; c < 3; c++) {
        assert.deepEqual(
          Array.from(input.data.subarray((t * 3 + c) * 6, (t * 3 + c + 1) * 6)),
          Array.from(st.data.subarray(t * 6, (t + 1) * 6)),
        );
      }
    }
    assert.equal(repeatChannels(input), input);
  });

  it('puts oriented planes back into volume order for both orientations', () => {
    const vol = coordVolume(4, 3, 2);
    for (const o of ['official', 'none'] as const) {
      const planes = new Float32Array(24);
      planes.set(extractSlice(vol, 0, o).data, 0);
      planes.set(extractSlice(vol, 1, o).data, 12);
      const back = planesToVolume(planes, vol, o);
      assert.deepEqual(back.shape, [4, 3, 2]);
      assert.deepEqual(Array.from(back.data), Array.from(vol.data));
      assert.equal(back.dtype, 'float32');
    }
  });
});

describe('stack centres and argmax (spec 10.2)', () => {
  it('centres every slice at stride 1 and tiles at stride D, covering the last slices', () => {
    assert.deepEqual(stackCentres(6), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(stackCentres(10, { stride: 5 }), [2, 7]);
    assert.deepEqual(stackCentres(12, { stride: 5 }), [2, 7, 9]);
    assert.deepEqual(stackCentres(2, { stride: 5 }), [1]);
    assert.throws(() => stackCentres(10, { stride: 6 }), /stride/);
  });

  it('argmax takes the first maximum on ties', () => {
    const probs = hostTensor(
      'float32',
      [1, 3, 1, 3],
      Float32Array.from([0.2, 0.5, 0.4, 0.5, 0.5, 0.1, 0.3, 0, 0.5]),
    );
    assert.deepEqual(Array.from(argmaxClasses(probs)), [1, 0, 2]);
  });
});
