import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { float32 } from '../../core/host_tensor.js';
import { Rng } from '../../core/rng.js';
import { applyRandomGenerator, randomGenerator, sampleRandomGeneratorParams } from './random_generator.js';

function stack(h: number, w: number) {
  const n = 5 * h * w;
  return {
    image: float32(
      [5, h, w],
      Array.from({ length: n }, (_, i) => ((i * 37) % 256) / 255),
    ),
    label: float32(
      [5, h, w],
      Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 3 : i % 3 === 0 ? 1 : 0)),
    ),
  };
}

describe('RandomGenerator pipeline (spec 8.6)', () => {
  it('with p = 0 only RandAugment runs', () => {
    const params = sampleRandomGeneratorParams(new Rng(1), { height: 8, width: 8 }, { p: 0 });
    assert.equal(params.rotFlip, null);
    assert.equal(params.rotate, null);
    assert.equal(params.gamma, null);
    assert.equal(params.erase, null);
    assert.equal(params.randAugment.steps.length, 2);
  });

  it('draws the erasing box for the plane size after an odd rot90', () => {
    for (let seed = 0; seed < 40; seed++) {
      const params = sampleRandomGeneratorParams(new Rng(seed), { height: 6, width: 40 }, { p: 1 });
      const s = applyRandomGenerator(params, stack(6, 40));
      const odd = params.rotFlip!.k % 2 === 1;
      assert.deepEqual(s.image.shape, odd ? [5, 40, 6] : [5, 6, 40]);
    }
  });

  it('is deterministic for a seed and leaves its input untouched', () => {
    const input = stack(12, 12);
    const before = Array.from(input.image.data);
    const a = randomGenerator(new Rng(7), input);
    const b = randomGenerator(new Rng(7), input);
    assert.deepEqual(Array.from(a.image.data), Array.from(b.image.data));
    assert.deepEqual(Array.from(a.label.data), Array.from(b.label.data));
    assert.deepEqual(Array.from(input.image.data), before);
    const c = randomGenerator(new Rng(8), input);
    assert.notDeepEqual(Array.from(a.image.data), Array.from(c.image.data));
  });

  it('keeps images in [0, 1] and labels in the original label set', () => {
    for (let seed = 0; seed < 30; seed++) {
      const out = randomGenerator(new Rng(seed), stack(10, 10));
      for (const v of out.image.data) assert.ok(v >= 0 && v <= 1);
      for (const v of out.label.data) assert.ok(v === 0 || v === 1 || v === 3);
    }
  });

  it('zooms to the output size when the planes differ from it', () => {
    const out = randomGenerator(new Rng(2), stack(8, 8), { outputSize: [16, 12] });
    assert.deepEqual(out.image.shape, [5, 16, 12]);
    assert.deepEqual(out.label.shape, [5, 16, 12]);
  });
});
