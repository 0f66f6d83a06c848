// The lines of a training run: durations as h:mm:ss, a steps/s rate over recent steps, and the progress
// and validation lines (with per-class Dice on request).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StepRate, formatDuration, progressLine, validationLine } from './train_log.js';

describe('train log lines', () => {
  it('formats durations as h:mm:ss, hours past a day included, unknown as ?', () => {
    assert.equal(formatDuration(0), '0:00:00');
    assert.equal(formatDuration(59.6), '0:01:00');
    assert.equal(formatDuration(3723), '1:02:03');
    assert.equal(formatDuration(100 * 3600 + 5), '100:00:05');
    assert.equal(formatDuration(Number.NaN), '?');
    assert.equal(formatDuration(Number.POSITIVE_INFINITY), '?');
  });

  it('measures steps/s over a sliding window and the ETA from it', () => {
    const rate = new StepRate(2);
    assert.ok(Number.isNaN(rate.perSecond));
    rate.mark(0, 0);
    rate.mark(1, 100); // a slow first step (compilation) leaves the window later
    rate.mark(2, 101);
    rate.mark(3, 102);
    assert.equal(rate.perSecond, 1);
    assert.equal(rate.eta(3, 10), 7);
  });

  it('writes a progress line with step, loss, lr, steps/s and ETA', () => {
    const line = progressLine({
      step: 40,
      steps: 150,
      loss: 0.43121,
      lr: 0.00291,
      stepsPerSecond: 1.5234,
      etaSeconds: 72.2,
    });
    assert.equal(line, 'step 40/150  loss 0.4312  lr 2.91e-3  1.52 steps/s  ETA 0:01:12');
  });

  it('writes a validation line with the best so far, and per-class Dice by name on request', () => {
    const base = { step: 50, steps: 150, mean: 0.81234, best: { score: 0.9, step: 25 } };
    assert.equal(validationLine(base), 'step 50/150  validation Dice 0.8123  best 0.9000 (step 25)');
    const names = ['background', 'liver', 'spleen'];
    assert.match(
      validationLine({ ...base, perClass: { dice: [0.88, 0.74], names } }),
      /best 0\.9000 \(step 25\) {2}\| liver 0\.8800 {2}spleen 0\.7400$/,
    );
  });
});
