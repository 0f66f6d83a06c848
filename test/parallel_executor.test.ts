// Data-parallel workers (src/train/parallel_executor.ts): two workers give the single executor's exact
// loss and gradients over micro-batches, the same result on every run (sums in a fixed order, whatever the
// timing), and a Trainer with two workers ends several steps with the weights of one worker.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadMaSam } from '../src/api/model.js';
import { Rng, hostTensor } from '../src/core/index.js';
import { makePhantom } from '../src/data/phantom.js';
import { clearCompileCache } from '../src/runtime/index.js';
import { Executor, type LossAndGradients, type StackBatch } from '../src/train/executor.js';
import { ParallelExecutor } from '../src/train/parallel_executor.js';
import { SliceCache, cacheCase } from '../src/train/slice_cache.js';
import { Trainer } from '../src/train/trainer.js';
import { TINY_CONFIG } from './tiny_model.js';

function maxRelErr(a: LossAndGradients, b: LossAndGradients): number {
  let worst = 0;
  for (const [name, g] of b.grads) {
    const o = a.grads.get(name);
    if (!g || !o) {
      assert.equal(o, g, name);
      continue;
    }
    let [m, e] = [0, 0];
    for (let i = 0; i < g.length; i++) {
      m = Math.max(m, Math.abs(g[i]!));
      e = Math.max(e, Math.abs(o[i]! - g[i]!));
    }
    if (m > 0) worst = Math.max(worst, e / m);
  }
  return worst;
}

describe('data-parallel workers', () => {
  after(clearCompileCache);

  it('2 workers over 4 micro-batches = one executor; identical on every run', async () => {
    const model = await loadMaSam({ config: TINY_CONFIG, seed: 5 });
    const rng = new Rng(8);
    const [d, s] = [TINY_CONFIG.slices, TINY_CONFIG.img_size];
    const options = {
      config: model.config,
      weights: model.weights,
      trainable: model.trainable,
      dropout: true,
    };
    const single = new Executor(options);
    const micro: StackBatch[] = Array.from({ length: 4 }, () => {
      const image = hostTensor('float32', [1, d, 3, s, s]);
      for (let i = 0; i < image.data.length; i++) image.data[i] = rng.uniform();
      const label = hostTensor('int32', [d, s, s]);
      for (let i = 0; i < label.data.length; i++) label.data[i] = rng.int(4);
      const noise = new Map(
        single.noiseSites(1).map((site) => {
          const t = hostTensor('float32', site.shape);
          for (let i = 0; i < t.data.length; i++) t.data[i] = rng.uniform();
          return [site.name, t] as const;
        }),
      );
      return { image, label, noise };
    });
    const ref = await single.lossAndGrads(micro);
    const parallel = new ParallelExecutor(options, { workers: 2 });
    try {
      const a = await parallel.lossAndGrads(micro);
      const b = await parallel.lossAndGrads(micro);
      assert.ok(Math.abs(a.loss - ref.loss) <= 1e-5 * ref.loss, `loss ${a.loss} vs ${ref.loss}`);
      assert.ok(maxRelErr(a, ref) <= 2e-4, `gradients: ${maxRelErr(a, ref)}`);
      assert.equal(a.loss, b.loss);
      assert.equal(maxRelErr(a, b), 0, 'two runs are bit-identical');
      // Weights moved into shared memory in place: the map now holds the workers' view.
      assert.ok(model.weights.get([...model.trainable][0]!)!.data.buffer instanceof SharedArrayBuffer);
    } finally {
      await parallel.close();
    }
  });

  it('a Trainer with 2 workers ends 3 steps of batch 4 with the weights of 1 worker', async () => {
    const p = makePhantom('ct', new Rng(3), { size: [40, 40, 8] });
    const data = new SliceCache([cacheCase('a', p.image, p.label, 32, 'ct')], 32, 'ct');
    const run = async (workers: number) => {
      const model = await loadMaSam({ config: TINY_CONFIG, seed: 5 });
      const trainer = new Trainer(model.config, model.weights, model.trainable, data, {
        steps: 3,
        batch: 4,
        microBatch: 1,
        baseLr: 0.001,
        warmup: 1,
        weightDecay: 0.1,
        seed: 9,
        workers,
      });
      try {
        for (let i = 0; i < 3; i++) await trainer.trainStep();
      } finally {
        await trainer.close();
      }
      return model.weights;
    };
    const initial = new Map(
      [...(await loadMaSam({ config: TINY_CONFIG, seed: 5 })).weights].map(([n, t]) => [n, t.data]),
    );
    const one = await run(1);
    const two = await run(2);
    // Compare the updates, not the weights: the change each run made, over every weight (L2).
    let [diff, norm, worst] = [0, 0, 0];
    for (const [name, t] of one) {
      const o = two.get(name)!.data;
      const w0 = initial.get(name)!;
      for (let i = 0; i < t.data.length; i++) {
        const d1 = t.data[i]! - w0[i]!;
        diff += (o[i]! - t.data[i]!) ** 2;
        norm += d1 * d1;
        worst = Math.max(worst, Math.abs(o[i]! - t.data[i]!));
      }
    }
    assert.ok(Math.sqrt(diff / norm) <= 1e-3, `updates differ by ${Math.sqrt(diff / norm)} (L2, relative)`);
    // A gradient element at float-noise level can flip AdamW's early ≈ ±lr step, so single weights may
    // differ by up to 2·lr per step; anything beyond that would be a real divergence.
    assert.ok(worst <= 2 * 0.001 * 3, `largest weight deviation ${worst} (lr 0.001, 3 steps)`);
  });
});
