// The training executor (src/train/executor.ts) on a deeper MA-SAM than the fixtures, in training mode
// (FacT dropout noise) with box + point prompts: the staged, recomputing executor and exact micro-batches
// give the single graph's loss and gradients. Parity with the official code is test/masam_parity.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { loadMaSam } from '../src/api/model.js';
import { type HostTensor, Rng, hostTensor, splitFirstAxis } from '../src/core/index.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { clearCompileCache } from '../src/runtime/index.js';
import {
  Executor,
  type LossAndGradients,
  type RecomputePolicy,
  type StackBatch,
} from '../src/train/executor.js';
import { fixturePath } from './fixtures.js';

const FIXTURE = 'tiny-a';
const STACKS = 4;
const POINTS = 2;
const DEPTH = 8;
/** max|a − b| / max|b|, the fixture README's gradient measure. */
function relErr(a: Float32Array, b: Float32Array): number {
  let maxRef = 0;
  let maxErr = 0;
  for (let i = 0; i < b.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(b[i]!));
    maxErr = Math.max(maxErr, Math.abs(a[i]! - b[i]!));
  }
  return maxRef === 0 ? maxErr : maxErr / maxRef;
}

/**
 * A deeper model with the fixture's well-conditioned weights (fixture README: every path matters, logits
 * neither flat nor saturated): tiny-a's 4 blocks repeated to 8 (global attention on 1, 3, 5, 7), the copies
 * perturbed by 10 %; four stacks made from the fixture's stack rolled by 7·s pixels (the last one without foreground);
 * random prompts.
 */
async function setup(trainableAll: boolean) {
  const config = JSON.parse(readFileSync(fixturePath(FIXTURE, 'config.json'), 'utf8'));
  const base = await loadMaSam({
    config,
    samCheckpoint: fixturePath(FIXTURE, 'sam.pth'),
    masamCheckpoint: fixturePath(FIXTURE, 'masam.pth'),
  });
  const model = await loadMaSam({
    config: { ...base.config, depth: DEPTH, global_attn_indexes: [1, 3, 5, 7] },
    seed: 3,
  });
  const rng = new Rng(9);
  for (const [name, t] of model.weights) {
    const m = /^image_encoder\.blocks\.(\d+)\.(.*)$/.exec(name);
    const copy = m ? Number(m[1]) >= base.config.depth : false;
    const from = base.weights.get(
      m ? `image_encoder.blocks.${Number(m[1]) % base.config.depth}.${m[2]}` : name,
    )!;
    for (let i = 0; i < t.data.length; i++) t.data[i] = from.data[i]! * (copy ? 1 + 0.1 * rng.normal() : 1);
  }
  const cfg = model.config;
  const [d, s] = [cfg.slices, cfg.img_size];
  const inputs = readSafetensors(readFileSync(fixturePath(FIXTURE, 'inputs.safetensors')), FIXTURE).tensors;
  const [img, lab] = [inputs.get('image')!, inputs.get('label')!];
  const image = hostTensor('float32', [STACKS, d, 3, s, s]);
  const label = hostTensor('int32', [STACKS * d, s, s]);
  for (let st = 0; st < STACKS; st++) {
    const [n, m] = [img.data.length, lab.data.length];
    for (let i = 0; i < n; i++) image.data[st * n + i] = Number(img.data[(i + st * 7) % n]);
    // The last stack holds no foreground, so per-micro-batch Dice would differ from the batch's.
    for (let i = 0; i < m; i++)
      label.data[st * m + i] = st === STACKS - 1 ? 0 : Number(lab.data[(i + st * 7) % m]);
  }
  const boxes = hostTensor('float32', [STACKS * d, 4]);
  for (let i = 0; i < STACKS * d; i++)
    boxes.data.set(
      [rng.range(0, s / 3), rng.range(0, s / 3), rng.range(s / 2, s), rng.range(s / 2, s)],
      i * 4,
    );
  const pointCoords = hostTensor('float32', [STACKS * d, POINTS, 2]);
  for (let i = 0; i < pointCoords.data.length; i++) pointCoords.data[i] = rng.range(0, s);
  const pointLabels = hostTensor('float32', [STACKS * d, POINTS]);
  for (let i = 0; i < pointLabels.data.length; i++) pointLabels.data[i] = rng.int(3) - 1;
  const trainable = trainableAll ? model.allTrainableNames() : model.trainable;
  const executor = (recompute: RecomputePolicy) =>
    new Executor({
      config: cfg,
      weights: model.weights,
      trainable,
      prompts: { points: POINTS },
      dropout: true,
      recompute,
    });
  // One draw of dropout noise for the whole batch, shared by every variant.
  const noise = new Map<string, HostTensor<'float32'>>();
  for (const site of executor('none').noiseSites(STACKS)) {
    const t = hostTensor('float32', site.shape);
    for (let i = 0; i < t.data.length; i++) t.data[i] = rng.uniform();
    noise.set(site.name, t);
  }
  const microBatches = (n: number): StackBatch[] => {
    const images = splitFirstAxis(image, n);
    const labels = splitFirstAxis(label, n);
    const [b, c, l] = [
      splitFirstAxis(boxes, n),
      splitFirstAxis(pointCoords, n),
      splitFirstAxis(pointLabels, n),
    ];
    return images.map((img, j) => ({
      image: img,
      label: labels[j]!,
      prompts: { boxes: b[j]!, pointCoords: c[j]!, pointLabels: l[j]! },
      noise: new Map([...noise].map(([name, t]) => [name, splitFirstAxis(t, n)[j]!])),
    }));
  };
  return { executor, microBatches, trainable };
}

function assertSameResult(got: LossAndGradients, ref: LossAndGradients, what: string): void {
  for (const key of ['loss', 'ce', 'dice'] as const)
    assert.ok(
      Math.abs(got[key] - ref[key]) <= 1e-5 * Math.abs(ref[key]),
      `${what}: ${key} ${got[key]} vs ${ref[key]}`,
    );
  assert.deepEqual([...got.grads.keys()].sort(), [...ref.grads.keys()].sort(), `${what}: gradient names`);
  // The fixture README's rules: err ≤ 2e-4 per tensor; a mathematically-zero gradient (e.g. attention key
  // biases, which softmax ignores) only needs max |g| ≤ 1e-6 × the largest gradient.
  const maxAbs = (g: Float32Array) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const largest = Math.max(...[...ref.grads.values()].map((g) => (g ? maxAbs(g) : 0)));
  const failures: string[] = [];
  let checked = 0;
  for (const [name, g] of ref.grads) {
    const o = got.grads.get(name);
    if (!g || !o) {
      if (g !== o) failures.push(`${name}: ${g ? 'missing' : 'unexpected'} gradient`);
      continue;
    }
    if (maxAbs(g) <= 1e-6 * largest) {
      if (maxAbs(o) > 1e-6 * largest) failures.push(`${name}: |g| ${maxAbs(o)} > 1e-6 × ${largest}`);
      continue;
    }
    checked++;
    const err = relErr(o, g);
    if (!(err <= 2e-4)) failures.push(`${name}: ${err.toExponential(2)}`);
  }
  assert.deepEqual(failures, [], what);
  assert.ok(checked > 0.9 * ref.grads.size, `${what}: most gradients are checked by value (${checked})`);
}

describe('training executor: staged recomputation and exact micro-batches', () => {
  after(clearCompileCache);

  it('depth 8, dropout, box + point prompts: blocks = none; 4 and 2 micro-batches = the whole batch', async () => {
    const { executor, microBatches, trainable } = await setup(false);
    const none = executor('none');
    const blocks = executor('blocks');
    const ref = await none.lossAndGrads(microBatches(1));
    assert.equal(ref.grads.size, trainable.size);
    assertSameResult(await blocks.lossAndGrads(microBatches(1)), ref, 'blocks, 1 micro-batch');
    assertSameResult(await blocks.lossAndGrads(microBatches(4)), ref, 'blocks, 4 micro-batches');
    assertSameResult(await none.lossAndGrads(microBatches(2)), ref, 'none, 2 micro-batches');
    // What exactness rules out: the mean of per-micro-batch Dice losses is not the batch's Dice loss.
    const parts = [];
    for (const mb of microBatches(4)) parts.push(await blocks.lossAndGrads([mb]));
    const averaged = parts.reduce((a, r) => a + r.dice, 0) / parts.length;
    assert.ok(Math.abs(averaged - ref.dice) > 1e-2, `averaged micro-batch Dice ${averaged} vs ${ref.dice}`);
    // Blocks of one attention kind share one program: forward and gradient for two kinds (+ block 0's
    // variant without an input gradient), at 4 and at 1 stack per run.
    const blockPrograms = blocks.compiledPrograms().filter((k) => k.startsWith('block-'));
    assert.ok(blockPrograms.length <= 10, `block programs: ${blockPrograms.join(', ')}`);
  });

  it('every weight trainable (patch embedding and neck too): blocks = none', async () => {
    const { executor, microBatches, trainable } = await setup(true);
    const none = executor('none');
    const blocks = executor('blocks');
    const ref = await none.lossAndGrads(microBatches(1));
    assert.ok(ref.grads.get('image_encoder.patch_embed.proj.weight'), 'the embedding has a gradient');
    assert.equal(ref.grads.size, trainable.size);
    assertSameResult(await blocks.lossAndGrads(microBatches(1)), ref, 'blocks, every weight trainable');
  });

  it('noise sites: one per FacT dropout, stack-major, splitting into micro-batches along the first axis', async () => {
    const { executor } = await setup(false);
    const e = executor('blocks');
    const whole = e.noiseSites(STACKS);
    const one = e.noiseSites(1);
    assert.equal(whole.length, 2 * DEPTH);
    assert.deepEqual(
      whole.map((s) => s.name),
      one.map((s) => s.name),
    );
    for (let i = 0; i < whole.length; i++)
      assert.deepEqual(whole[i]!.shape, [STACKS * one[i]!.shape[0]!, ...one[i]!.shape.slice(1)]);
    assert.match(whole[0]!.name, /blocks\.0\.attn\.qkv\.dropout_q$/);
    assert.match(whole[1]!.name, /blocks\.0\.attn\.qkv\.dropout_v$/);
  });

  it('rejects micro-batches of unequal size', async () => {
    const { executor, microBatches } = await setup(false);
    const [a, b] = microBatches(2);
    const c = microBatches(4)[0]!;
    await assert.rejects(executor('blocks').lossAndGrads([a!, b!, c]), /same number of stacks/);
  });
});
