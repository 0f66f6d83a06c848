import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { affineBilinear8, affineNearest8, blend8, meanLevel8, posterize8, smooth8 } from './pil.js';

// A 4×4 plane with distinct values 10·row + col.
const grid = Uint8Array.from({ length: 16 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4));

describe('Pillow 8-bit affine transform', () => {
  it('bilinear with identity coefficients returns the image', () => {
    assert.deepEqual(Array.from(affineBilinear8(grid, 4, 4, [1, 0, 0, 0, 1, 0])), Array.from(grid));
  });

  it('bilinear half-pixel translation averages neighbours, truncating, and zero-fills outside', () => {
    const row = Uint8Array.from([0, 3, 10, 20]);
    // Output x samples input x + 1 at its centre, i.e. halfway between x and x + 1 after the −0.5.
    assert.deepEqual(Array.from(affineBilinear8(row, 1, 4, [1, 0, 0.5, 0, 1, 0])), [1, 6, 15, 0]);
  });

  it('bilinear clamps neighbours at the border and reuses the row when y + 1 is outside', () => {
    const img = Uint8Array.from([100, 200]);
    // Sampling at x_in = 0.25 (inside): x0 = floor(−0.25) = −1 → both neighbours clamp to column 0.
    assert.deepEqual(Array.from(affineBilinear8(img, 1, 2, [1, 0, -0.25, 0, 1, 0])), [100, 175]);
  });

  it('nearest translation (scale path) shifts whole pixels and zero-fills', () => {
    const out = affineNearest8(grid, 4, 4, [1, 0, 1, 0, 1, 0]);
    assert.deepEqual(Array.from(out.subarray(0, 4)), [1, 2, 3, 0]);
    assert.deepEqual(Array.from(out.subarray(12, 16)), [31, 32, 33, 0]);
  });

  it('nearest scale about the top-left corner truncates accumulated positions', () => {
    const out = affineNearest8(grid, 4, 4, [0.5, 0, 0, 0, 0.5, 0]);
    // x_in = trunc(0.25 + 0.5·x) = 0, 0, 1, 1; the same for rows.
    assert.deepEqual(Array.from(out), [0, 0, 1, 1, 0, 0, 1, 1, 10, 10, 11, 11, 10, 10, 11, 11]);
  });

  it('nearest shear uses 16.16 fixed point', () => {
    // shear_x with v = 0.5 on 4×4: x_in = x + floor(0.5·y − 0.25), y_in = y.
    const out = affineNearest8(grid, 4, 4, [1, 0.5, -1, 0, 1, 0]);
    assert.deepEqual(Array.from(out), [0, 0, 1, 2, 10, 11, 12, 13, 20, 21, 22, 23, 31, 32, 33, 0]);
  });
});

describe('Pillow blend, stat, filter and posterize', () => {
  it('blend computes p + α(q − p) in float32, clipping then truncating', () => {
    const q = Uint8Array.from([0, 100, 200, 255]);
    assert.deepEqual(Array.from(blend8(100, q, 1.3)), [0, 100, 230, 255]);
    assert.deepEqual(Array.from(blend8(100, q, 0.5)), [50, 100, 150, 177]);
    assert.deepEqual(Array.from(blend8(0, q, 0.7)), [0, 70, 140, 178]);
  });

  it('contrast level is int(mean + 0.5)', () => {
    assert.equal(meanLevel8(Uint8Array.from([0, 1])), 1);
    assert.equal(meanLevel8(Uint8Array.from([0, 0, 1])), 0);
  });

  it('SMOOTH rounds the 13-weighted 3×3 sum on interior pixels and copies the border', () => {
    const img = new Uint8Array(9).fill(10);
    img[4] = 23;
    const out = smooth8(img, 3, 3);
    assert.equal(out[4], 15); // (8·10 + 5·23)/13 = 15
    assert.deepEqual(
      Array.from(out).filter((_, i) => i !== 4),
      new Array(8).fill(10),
    );
    const img2 = Uint8Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert.equal(smooth8(img2, 3, 3)[4], 0); // 5/13 = 0.38 rounds down
  });

  it('posterize keeps the top bits', () => {
    assert.deepEqual(Array.from(posterize8(Uint8Array.from([255, 0x17, 0x80]), 4)), [0xf0, 0x10, 0x80]);
    assert.deepEqual(Array.from(posterize8(Uint8Array.from([255, 0x17]), 8)), [255, 0x17]);
  });
});
