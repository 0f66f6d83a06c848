import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BTCV_MERGE_ADRENALS, binarizeLabels, colorsToLabels, remapLabels } from './labels.js';

describe('label maps', () => {
  it('merges the adrenal glands 13 → 12 for the 12-class setting', () => {
    const out = remapLabels(Float32Array.from([0, 12, 13, 6, 13]), BTCV_MERGE_ADRENALS);
    assert.deepEqual(Array.from(out), [0, 12, 12, 6, 12]);
    assert.ok(out instanceof Float32Array);
  });

  it('remaps without touching the input and swaps values consistently', () => {
    const input = Uint8Array.from([1, 2, 3]);
    assert.deepEqual(Array.from(remapLabels(input, { 1: 2, 2: 1 })), [2, 1, 3]);
    assert.deepEqual(Array.from(input), [1, 2, 3]);
  });

  it('binarises prostate zones: values above 1 become 1', () => {
    assert.deepEqual(Array.from(binarizeLabels(Float64Array.from([0, 1, 2, 5]))), [0, 1, 1, 1]);
  });

  it('converts EndoVis colours by exact match, others to 0', () => {
    const rgb = Uint8Array.from([0, 255, 0, 0, 255, 255, 12, 255, 141, 0, 255, 1, 255, 55, 0]);
    assert.deepEqual(Array.from(colorsToLabels(rgb)), [1, 2, 11, 0, 4]);
    const rgba = Uint8Array.from([125, 255, 12, 255, 1, 2, 3, 255]);
    assert.deepEqual(Array.from(colorsToLabels(rgba, undefined, 4)), [3, 0]);
    assert.throws(() => colorsToLabels(Uint8Array.from([1, 2])), /multiple of 3/);
  });
});
