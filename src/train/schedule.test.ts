import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { learningRate } from './schedule.js';

describe('official learning-rate schedule (spec §9.4)', () => {
  const o = { baseLr: 0.0008, warmup: 250, maxIterations: 400 * 10 };

  it('starts at base/W and uses it for steps 0 and 1', () => {
    assert.equal(learningRate(0, o), 0.0008 / 250);
    assert.equal(learningRate(1, o), 0.0008 / 250);
  });

  it('warms up linearly to base at step W', () => {
    assert.equal(learningRate(100, o), (0.0008 * 100) / 250);
    assert.equal(learningRate(250, o), 0.0008);
  });

  it('decays as base·(1 − (k − W − 1)/M)^7 from step W + 1', () => {
    assert.equal(learningRate(251, o), 0.0008);
    assert.ok(Math.abs(learningRate(251 + 1000, o) - 0.0008 * (1 - 1000 / 4000) ** 7) < 1e-18);
    // the official run stops after 300 of 400 epochs: lr ≈ base·0.25⁷
    const last = 251 + 3000;
    assert.ok(Math.abs(learningRate(last, o) - 0.0008 * 0.25 ** 7) < 1e-18);
  });

  it('never goes negative past the horizon', () => {
    assert.equal(learningRate(251 + 5000, o), 0);
  });
});
