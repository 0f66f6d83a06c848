import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { float32 } from '../../core/host_tensor.js';
import { Rng } from '../../core/rng.js';
import {
  affineCoefficients,
  applyRandAugmentOp,
  RAND_AUGMENT_OPS,
  RAND_AUGMENT_RANGES,
  randAugment,
  sampleRandAugmentParams,
} from './rand_augment.js';

// Two 4×4 planes; image values are multiples of 1/255 so 8-bit quantisation is exact.
const imageValues = Array.from({ length: 32 }, (_, i) => ((i * 7) % 256) / 255);
const labelValues = Array.from({ length: 32 }, (_, i) => (i % 4 === 3 ? 2 : i % 5 === 0 ? 1 : 0));
const sample = () => ({ image: float32([2, 4, 4], imageValues), label: float32([2, 4, 4], labelValues) });

describe('RandAugment ops (spec 8.6 step 5)', () => {
  it('uses the official affine coefficients (x = column, scale about the top-left corner)', () => {
    assert.deepEqual(affineCoefficients('shear_x', 0.2, 6, 10), [1, 0.2, -1, 0, 1, 0]);
    assert.deepEqual(affineCoefficients('shear_y', 0.2, 6, 10), [1, 0, 0, 0.2, 1, -0.6000000000000001]);
    assert.deepEqual(affineCoefficients('scale', 1.1, 6, 10), [1.1, 0, 0, 0, 1.1, 0]);
    assert.deepEqual(affineCoefficients('translate_x', 0.1, 6, 10), [1, 0, 1, 0, 1, 0]);
    assert.deepEqual(affineCoefficients('translate_y', -0.5, 6, 10), [1, 0, 0, 0, 1, -3]);
    assert.equal(affineCoefficients('contrast', 1, 6, 10), null);
  });

  it('translate_x moves image (bilinear) and label (nearest) by whole pixels, zero-filling', () => {
    const out = applyRandAugmentOp('translate_x', 0.25, sample());
    for (const p of [0, 1]) {
      for (let r = 0; r < 4; r++) {
        for (let c = 0; c < 4; c++) {
          const i = p * 16 + r * 4 + c;
          assert.equal(out.image.data[i], c < 3 ? Math.fround(imageValues[i + 1]!) : 0);
          assert.equal(out.label.data[i], c < 3 ? labelValues[i + 1] : 0);
        }
      }
    }
  });

  it('identity changes nothing and does not quantise', () => {
    const s = { image: float32([1, 1, 2], [0.123, 0.9]), label: float32([1, 1, 2], [0, 1]) };
    const out = applyRandAugmentOp('identity', 0.5, s);
    assert.equal(out, s);
  });

  it('intensity ops quantise to 8 bits per slice and keep the label', () => {
    const s = { image: float32([2, 1, 2], [0.5, 1, 0.2, 0.2]), label: float32([2, 1, 2], [1, 0, 0, 1]) };
    const b = applyRandAugmentOp('brightness', 1, s);
    assert.deepEqual(Array.from(b.image.data), [127 / 255, 1, 51 / 255, 51 / 255].map(Math.fround));
    assert.equal(b.label, s.label);
    // Contrast uses each slice's own mean: slice 0 has levels (127, 255) → 191; slice 1 is constant.
    const c = applyRandAugmentOp('contrast', 0.5, s);
    assert.deepEqual(Array.from(c.image.data), [159 / 255, 223 / 255, 51 / 255, 51 / 255].map(Math.fround));
    const p = applyRandAugmentOp('posterize', 4.99, s);
    assert.deepEqual(Array.from(p.image.data), [112 / 255, 240 / 255, 48 / 255, 48 / 255].map(Math.fround));
  });

  it('sharpness with v = 1 returns the quantised image', () => {
    const out = applyRandAugmentOp('sharpness', 1, sample());
    assert.deepEqual(Array.from(out.image.data), imageValues.map(Math.fround));
  });

  it('geometric ops keep labels within the original label set', () => {
    for (const op of ['shear_x', 'shear_y', 'scale', 'translate_x', 'translate_y'] as const) {
      const out = applyRandAugmentOp(op, RAND_AUGMENT_RANGES[op][1] * 0.9, sample());
      for (const v of out.label.data) assert.ok(v === 0 || v === 1 || v === 2, `${op}: ${v}`);
    }
  });

  it('draws two distinct ops with magnitudes in range, all ten about equally often', () => {
    const rng = new Rng(11);
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const { steps } = sampleRandAugmentParams(rng);
      assert.equal(steps.length, 2);
      assert.notEqual(steps[0]!.op, steps[1]!.op);
      for (const { op, v } of steps) {
        const [lo, hi] = RAND_AUGMENT_RANGES[op];
        assert.ok(v >= lo && v < hi);
        counts.set(op, (counts.get(op) ?? 0) + 1);
      }
    }
    assert.equal(counts.size, RAND_AUGMENT_OPS.length);
    for (const n of counts.values()) assert.ok(n > 320 && n < 480, `count ${n}`);
  });

  it('applies the drawn steps in order', () => {
    const s = sample();
    const params = {
      steps: [
        { op: 'translate_x', v: 0.25 },
        { op: 'brightness', v: 0.5 },
      ] as const,
    };
    const manual = applyRandAugmentOp('brightness', 0.5, applyRandAugmentOp('translate_x', 0.25, s));
    assert.deepEqual(Array.from(randAugment.apply(params, s).image.data), Array.from(manual.image.data));
  });
});
