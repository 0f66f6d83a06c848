import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { float32 } from '../../core/host_tensor.js';
import { Rng } from '../../core/rng.js';
import { erase, sampleEraseParams } from './erase.js';
import { gamma, gammaTable } from './gamma.js';

describe('gamma (spec 8.6 step 3)', () => {
  it('builds LUT[i] = trunc(255·(i/255)^(1/γ))', () => {
    const lut = gammaTable(2);
    assert.equal(lut[0], 0);
    assert.equal(lut[64], 127); // 255·√(64/255) = 127.75
    assert.equal(lut[127], 179); // 255·√(127/255) = 179.96
    assert.equal(lut[255], 255);
  });

  it('quantises the image through uint8 and leaves the label alone', () => {
    const image = float32([1, 1, 4], [0, 0.5, 1, 0.25]);
    const label = float32([1, 1, 4], [0, 1, 2, 3]);
    const out = gamma.apply({ gamma: 2 }, { image, label });
    // 0.5 → trunc(127.5) = 127 → 179; 0.25 → 63 → trunc(255·√(63/255)) = 126.
    assert.deepEqual(Array.from(out.image.data), [0, 179 / 255, 1, 126 / 255].map(Math.fround));
    assert.equal(out.label, label);
  });

  it('draws γ in [0.5, 3.5)', () => {
    const rng = new Rng(1);
    for (let i = 0; i < 500; i++) {
      const g = gamma.sampleParams(rng, { height: 1, width: 1 }).gamma;
      assert.ok(g >= 0.5 && g < 3.5);
    }
  });
});

describe('random erasing (spec 8.6 step 4)', () => {
  it('writes the same noise into every slice and zeroes the label in the box', () => {
    const image = float32([2, 3, 4], new Array(24).fill(0.5));
    const label = float32([2, 3, 4], new Array(24).fill(2));
    const out = erase.apply(
      { top: 1, left: 2, height: 2, width: 1, noise: Float32Array.from([0.25, 0.75]) },
      { image, label },
    );
    for (const p of [0, 1]) {
      const plane = Array.from(out.image.data.subarray(p * 12, p * 12 + 12));
      assert.deepEqual(plane, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.5, 0.5, 0.5, 0.75, 0.5]);
      const lab = Array.from(out.label.data.subarray(p * 12, p * 12 + 12));
      assert.deepEqual(lab, [2, 2, 2, 2, 2, 2, 0, 2, 2, 2, 0, 2]);
    }
    assert.equal(image.data[6], 0.5);
  });

  it('rejects a box that does not fit', () => {
    const s = { image: float32([1, 2, 2], [0, 0, 0, 0]), label: float32([1, 2, 2], [0, 0, 0, 0]) };
    assert.throws(
      () => erase.apply({ top: 1, left: 0, height: 2, width: 1, noise: new Float32Array(2) }, s),
      /does not fit/,
    );
  });

  it('draws boxes of 2–5 % area inside the plane with U(0, 1) noise', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 300; i++) {
      const p = sampleEraseParams(rng, { height: 64, width: 48 });
      assert.ok(p.width < 48 && p.height < 64);
      assert.ok(p.top >= 0 && p.top + p.height <= 64 && p.left >= 0 && p.left + p.width <= 48);
      // nx·ny ≤ se ≤ 0.05·H·W because both sides are truncated square roots.
      assert.ok(p.width * p.height <= 0.05 * 64 * 48);
      assert.equal(p.noise.length, p.width * p.height);
      for (const v of p.noise) assert.ok(v >= 0 && v < 1);
    }
  });
});
