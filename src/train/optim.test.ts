import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdamW } from './optim.js';

describe('AdamW (torch.optim.AdamW semantics)', () => {
  it('matches the closed form for a constant gradient', () => {
    // With constant g, bias-corrected moments are exactly g and g², so each step is
    // θ ← θ·(1 − lr·λ) − lr·g/(|g| + ε).
    const theta = new Float32Array([1, -2]);
    const opt = new AdamW(new Map([['w', theta]]), { weightDecay: 0.1, eps: 1e-8 });
    const g = new Float32Array([0.5, -0.25]);
    const lr = 0.01;
    const expected = [1, -2];
    for (let t = 1; t <= 5; t++) {
      opt.step(new Map([['w', g]]), lr);
      for (let i = 0; i < 2; i++)
        expected[i] = expected[i]! * (1 - lr * 0.1) - (lr * g[i]!) / (Math.abs(g[i]!) + 1e-8);
    }
    theta.forEach((v, i) => {
      assert.ok(Math.abs(v - expected[i]!) < 1e-6, `θ[${i}] = ${v}, expected ${expected[i]}`);
    });
  });

  it('matches a hand-computed first and second step with changing gradients', () => {
    const theta = new Float32Array([0.3]);
    const opt = new AdamW(new Map([['w', theta]]), { weightDecay: 0.1 });
    opt.step(new Map([['w', new Float32Array([0.2])]]), 0.1);
    // step 1: m = 0.02, v = 4e-5 → m̂ = 0.2, v̂ = 0.04; θ = 0.3·0.99 − 0.1·0.2/(0.2 + 1e-8)
    const t1 = 0.3 * 0.99 - (0.1 * 0.2) / (0.2 + 1e-8);
    assert.ok(Math.abs(theta[0]! - t1) < 1e-7);
    opt.step(new Map([['w', new Float32Array([-0.4])]]), 0.05);
    const m = 0.9 * 0.02 + 0.1 * -0.4;
    const v = 0.999 * 4e-5 + 0.001 * 0.16;
    const t2 =
      t1 * (1 - 0.05 * 0.1) -
      ((0.05 / (1 - 0.9 ** 2)) * m) / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
    assert.ok(Math.abs(theta[0]! - t2) < 1e-6, `${theta[0]} vs ${t2}`);
  });

  it('leaves parameters without a gradient untouched, weight decay included', () => {
    const a = new Float32Array([1]);
    const b = new Float32Array([1]);
    const opt = new AdamW(
      new Map([
        ['a', a],
        ['b', b],
      ]),
      { weightDecay: 0.1 },
    );
    opt.step(new Map([['a', new Float32Array([1])]]), 0.1);
    opt.step(
      new Map([
        ['a', new Float32Array([1])],
        ['b', null],
      ]),
      0.1,
    );
    assert.equal(b[0], 1);
    assert.equal(opt.state.get('a')!.step, 2);
    assert.equal(opt.state.has('b'), false);
  });

  it('counts steps per parameter', () => {
    const a = new Float32Array([1]);
    const b = new Float32Array([1]);
    const opt = new AdamW(
      new Map([
        ['a', a],
        ['b', b],
      ]),
    );
    opt.step(new Map([['a', new Float32Array([1])]]), 0.1);
    opt.step(
      new Map([
        ['a', new Float32Array([1])],
        ['b', new Float32Array([1])],
      ]),
      0.1,
    );
    assert.equal(opt.state.get('a')!.step, 2);
    assert.equal(opt.state.get('b')!.step, 1);
  });
});
