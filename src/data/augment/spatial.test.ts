import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { float32 } from '../../core/host_tensor.js';
import { Rng } from '../../core/rng.js';
import { rotFlip, rotFlipPlanes } from './rot_flip.js';
import { rotate, rotatePlanes } from './rotate.js';

// Recorded by ../testdata/make_scipy_fixture.py.
const fixture = JSON.parse(
  readFileSync(new URL('../testdata/scipy_fixture.json', import.meta.url), 'utf8'),
) as {
  rotate: { angle: number; shape: number[]; data: number[]; expected: number[] }[];
};

// Plane [[1, 2, 3], [4, 5, 6]] and a second plane shifted by 10.
const two = float32([2, 2, 3], [1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16]);

describe('rot/flip (spec 8.6 step 1)', () => {
  it('rot90 k=1 then flips axis 0 or 1 of a 2×3 plane', () => {
    const a = rotFlipPlanes(two, { k: 1, axis: 0 });
    assert.deepEqual(a.shape, [2, 3, 2]);
    // rot90 gives [[3, 6], [2, 5], [1, 4]]; flipping rows gives [[1, 4], [2, 5], [3, 6]].
    assert.deepEqual(Array.from(a.data.subarray(0, 6)), [1, 4, 2, 5, 3, 6]);
    assert.deepEqual(Array.from(a.data.subarray(6)), [11, 14, 12, 15, 13, 16]);
    const b = rotFlipPlanes(two, { k: 1, axis: 1 });
    assert.deepEqual(Array.from(b.data.subarray(0, 6)), [6, 3, 5, 2, 4, 1]);
  });

  it('k=0, 2, 3 follow np.rot90 then np.flip', () => {
    assert.deepEqual(
      Array.from(rotFlipPlanes(two, { k: 0, axis: 0 }).data.subarray(0, 6)),
      [4, 5, 6, 1, 2, 3],
    );
    assert.deepEqual(
      Array.from(rotFlipPlanes(two, { k: 2, axis: 1 }).data.subarray(0, 6)),
      [4, 5, 6, 1, 2, 3],
    );
    // rot90 k=3 gives [[4, 1], [5, 2], [6, 3]]; flipping rows gives [[6, 3], [5, 2], [4, 1]].
    assert.deepEqual(
      Array.from(rotFlipPlanes(two, { k: 3, axis: 0 }).data.subarray(0, 6)),
      [6, 3, 5, 2, 4, 1],
    );
  });

  it('moves image and label together and leaves the input untouched', () => {
    const label = float32([2, 2, 3], [0, 0, 1, 0, 2, 0, 0, 0, 1, 0, 2, 0]);
    const out = rotFlip.apply({ k: 1, axis: 0 }, { image: two, label });
    assert.deepEqual(Array.from(out.label.data.subarray(0, 6)), [0, 0, 0, 2, 1, 0]);
    assert.deepEqual(Array.from(two.data.subarray(0, 3)), [1, 2, 3]);
  });

  it('draws k in 0..3 and axis in 0..1', () => {
    const rng = new Rng(3);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = rotFlip.sampleParams(rng, { height: 4, width: 4 });
      assert.ok(p.k >= 0 && p.k <= 3 && (p.axis === 0 || p.axis === 1));
      seen.add(`${p.k}${p.axis}`);
    }
    assert.equal(seen.size, 8);
  });
});

describe('rotate (spec 8.6 step 2)', () => {
  for (const c of fixture.rotate) {
    it(`matches SciPy ndimage.rotate(order=0, reshape=False) at ${c.angle}°`, () => {
      const [h, w, d] = c.shape as [number, number, number];
      // Fixture arrays are (H, W, D) row-major; our planes are [D, H, W].
      const planes = new Float32Array(d * h * w);
      const want = new Float32Array(d * h * w);
      for (let p = 0; p < d; p++) {
        for (let i = 0; i < h * w; i++) {
          planes[p * h * w + i] = c.data[i * d + p]!;
          want[p * h * w + i] = c.expected[i * d + p]!;
        }
      }
      const out = rotatePlanes(float32([d, h, w], planes), c.angle);
      assert.deepEqual(Array.from(out.data), Array.from(want));
    });
  }

  it('90° equals rot90 with k=1 on a square plane', () => {
    const sq = float32([1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(Array.from(rotatePlanes(sq, 90).data), [3, 6, 9, 2, 5, 8, 1, 4, 7]);
  });

  it('draws integer angles in [−15, 14]', () => {
    const rng = new Rng(9);
    const angles = new Set<number>();
    for (let i = 0; i < 2000; i++) angles.add(rotate.sampleParams(rng, { height: 2, width: 2 }).angle);
    assert.equal(angles.size, 30);
    assert.equal(Math.min(...angles), -15);
    assert.equal(Math.max(...angles), 14);
  });
});
