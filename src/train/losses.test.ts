import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type HostTensor, Rng, hostTensor } from '../core/index.js';
import { Graph } from '../graph/index.js';
import { clearCompileCache, compile } from '../runtime/index.js';
import { checkVjp } from '../../test/check_vjp.js';
import { crossEntropy, diceLoss, segmentationLoss } from './losses.js';

const [N, K, H, W] = [2, 3, 4, 5];

function randomCase(seed: number): { logits: HostTensor<'float64'>; labels: HostTensor<'int32'> } {
  const rng = new Rng(seed);
  const logits = hostTensor('float64', [N, K, H, W]);
  for (let i = 0; i < logits.data.length; i++) logits.data[i] = rng.range(-3, 3);
  const labels = hostTensor('int32', [N, H, W]);
  for (let i = 0; i < labels.data.length; i++) labels.data[i] = rng.int(K);
  return { logits, labels };
}

/** Straightforward float64 host versions of spec §9.2. */
function referenceLosses(logits: Float64Array, labels: Int32Array): { ce: number; dice: number } {
  const inter = new Float64Array(K);
  const pSq = new Float64Array(K);
  const tSq = new Float64Array(K);
  let ce = 0;
  for (let n = 0; n < N; n++) {
    for (let px = 0; px < H * W; px++) {
      const z = Array.from({ length: K }, (_, k) => logits[(n * K + k) * H * W + px]!);
      const m = Math.max(...z);
      const s = z.reduce((a, v) => a + Math.exp(v - m), 0);
      const label = labels[n * H * W + px]!;
      ce -= z[label]! - m - Math.log(s);
      for (let k = 0; k < K; k++) {
        const p = Math.exp(z[k]! - m) / s;
        const t = k === label ? 1 : 0;
        inter[k] += p * t;
        pSq[k] += p * p;
        tSq[k] += t;
      }
    }
  }
  let dice = 0;
  for (let k = 0; k < K; k++) dice += 1 - (2 * inter[k]! + 1e-5) / (pSq[k]! + tSq[k]! + 1e-5);
  return { ce: ce / (N * H * W), dice: dice / K };
}

describe('segmentation losses (spec §9.2)', () => {
  after(clearCompileCache);

  it('match a float64 host computation of CE, Dice and 0.2·CE + 0.8·Dice', async () => {
    const { logits, labels } = randomCase(1);
    const g = new Graph();
    const x = g.input('logits', 'float64', logits.shape);
    const y = g.input('labels', 'int32', labels.shape);
    const { loss, ce, dice } = segmentationLoss(x, y);
    const out = await (await compile({ loss, ce, dice })).run({ logits, labels });
    const ref = referenceLosses(logits.data, labels.data);
    assert.ok(Math.abs(Number(out['ce']!.data[0]) - ref.ce) < 1e-12);
    assert.ok(Math.abs(Number(out['dice']!.data[0]) - ref.dice) < 1e-12);
    assert.ok(Math.abs(Number(out['loss']!.data[0]) - (0.2 * ref.ce + 0.8 * ref.dice)) < 1e-12);
  });

  it('ignore_index −100 pixels drop out of the cross-entropy mean', async () => {
    const { logits, labels } = randomCase(2);
    const ignored = hostTensor('int32', labels.shape, labels.data.slice());
    ignored.data.fill(-100, 0, H * W); // the whole first image
    const g = new Graph();
    const ce = crossEntropy(
      g.input('logits', 'float64', logits.shape),
      g.input('labels', 'int32', labels.shape),
    );
    const full = await (await compile({ ce })).run({ logits, labels: ignored });
    // the mean over the second image alone
    const second = hostTensor('float64', [1, K, H, W], logits.data.slice(K * H * W));
    const g2 = new Graph();
    const ce2 = crossEntropy(
      g2.input('logits', 'float64', second.shape),
      g2.input('labels', 'int32', [1, H, W]),
    );
    const half = await (await compile({ ce: ce2 })).run({
      logits: second,
      labels: hostTensor('int32', [1, H, W], labels.data.slice(H * W)),
    });
    assert.ok(Math.abs(Number(full['ce']!.data[0]) - Number(half['ce']!.data[0])) < 1e-12);
  });

  for (const [name, fn] of [
    ['cross-entropy', crossEntropy],
    ['Dice loss', diceLoss],
  ] as const) {
    it(`${name} passes the finite-difference VJP check`, async () => {
      const { logits, labels } = randomCase(3);
      const g = new Graph();
      const x = g.input('logits', 'float64', logits.shape);
      const y = g.input('labels', 'int32', labels.shape);
      const r = await checkVjp({
        graph: g,
        outputs: [fn(x, y)],
        wrt: [x],
        feeds: { logits, labels },
        epsilon: 1e-6,
        rng: new Rng(4),
        compileOptions: { optimization: 'basic' },
      });
      assert.ok(r.relativeError < 1e-6, `relative error ${r.relativeError}`);
    });
  }
});
