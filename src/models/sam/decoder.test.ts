// Prompt encoder, two-way transformer and MA-SAM mask decoder (masam-spec §4, §5, §11) against the official
// PyTorch outputs of the tiny-a / tiny-b fixtures (shared/fixtures/README.md, "Tolerances"): checkpoint keys
// round-trip, the prompt-less forward and its intermediates, gradients of the official loss for every
// decoder parameter, which gradients are absent, box-prompt batch pairing, point and mask prompts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fixturePath } from '../../../test/fixtures.js';
import { grad } from '../../autodiff/index.js';
import { type HostTensor, hostTensor, Rng, toFloat64 } from '../../core/index.js';
import { Graph, type Value } from '../../graph/index.js';
import { readPth } from '../../io/pth.js';
import { readSafetensors } from '../../io/safetensors.js';
import { ParamScope, ParamSource, type Weights } from '../../nn/index.js';
import * as F from '../../ops/index.js';
import { clearCompileCache, compile } from '../../runtime/index.js';
import { type MaSamConfig, numMaskTokens, resolveConfig, tokenGrid } from './config.js';
import { MaskDecoder } from './mask_decoder.js';
import { isEmptyTokens, PromptEncoder } from './prompt_encoder.js';

interface NamesJson {
  trainable: {
    masam_key: string | null;
    grad_key: string;
    grad_is_none: boolean;
    grad_is_mathematically_zero: boolean;
  }[];
}

interface Fixture {
  readonly cfg: MaSamConfig;
  /** `prompt_encoder.*` and `mask_decoder.*` of masam.pth. */
  readonly weights: Weights;
  readonly expected: Map<string, HostTensor>;
  readonly label: HostTensor;
  readonly names: NamesJson;
}

function loadFixture(name: string): Fixture {
  const cfg = resolveConfig(
    JSON.parse(readFileSync(fixturePath(name, 'config.json'), 'utf8')) as Partial<MaSamConfig>,
  );
  const ckpt = readPth(readFileSync(fixturePath(name, 'masam.pth')), `${name}/masam.pth`);
  const weights: Weights = new Map();
  for (const [key, t] of ckpt) {
    if (!key.startsWith('prompt_encoder.') && !key.startsWith('mask_decoder.')) continue;
    assert.equal(t.dtype, 'float32', key);
    weights.set(key, hostTensor('float32', t.shape, Float32Array.from(t.data as Float32Array)));
  }
  const expected = readSafetensors(readFileSync(fixturePath(name, 'expected.safetensors')), name).tensors;
  const inputs = readSafetensors(readFileSync(fixturePath(name, 'inputs.safetensors')), name).tensors;
  const names = JSON.parse(readFileSync(fixturePath(name, 'names.json'), 'utf8')) as NamesJson;
  return { cfg, weights, expected, label: inputs.get('label')!, names };
}

/** The decoder half of MA-SAM traced in a fresh graph over the fixture weights (no rng: missing = error). */
function build(fx: Fixture, trainable?: ReadonlySet<string>) {
  const graph = new Graph();
  const source = new ParamSource({ graph, weights: fx.weights, ...(trainable ? { trainable } : {}) });
  const root = new ParamScope(source);
  const promptEncoder = new PromptEncoder(fx.cfg, root.pp('prompt_encoder'));
  const maskDecoder = new MaskDecoder(fx.cfg, root.pp('mask_decoder'));
  return { graph, source, promptEncoder, maskDecoder };
}

/** The fixture README's metric: max|a − ref| / max|ref|. */
function relErr(a: HostTensor, ref: HostTensor): number {
  assert.deepEqual(a.shape, ref.shape);
  const x = toFloat64(a);
  const r = toFloat64(ref);
  let num = 0;
  let den = 0;
  for (let i = 0; i < r.length; i++) {
    num = Math.max(num, Math.abs(x[i]! - r[i]!));
    den = Math.max(den, Math.abs(r[i]!));
  }
  return num / den;
}

function maxAbs(t: HostTensor): number {
  return toFloat64(t).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

function randomTensor(shape: readonly number[], rng: Rng, lo = -1, hi = 1): HostTensor<'float32'> {
  const t = hostTensor('float32', shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = rng.range(lo, hi);
  return t;
}

/** The official MA-SAM loss (fixture README "Loss"): (1 − w)·CE + w·Dice on the mask logits. */
function officialLoss(logits: Value, label: HostTensor, dw: number): Value {
  const [n, k, h, w] = logits.shape as [number, number, number, number];
  const oneHot = hostTensor('float32', [n, k, h, w]);
  const lab = toFloat64(label);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < h * w; p++) oneHot.data[(b * k + lab[b * h * w + p]!) * h * w + p] = 1;
  }
  const t = F.constant(oneHot, logits);
  const ce = F.neg(F.mean(F.sum(F.mul(F.logSoftmax(logits, 1), t), [1])));
  const prob = F.softmax(logits, 1);
  const inter = F.sum(F.mul(prob, t), [0, 2, 3]); // [K]
  const zSum = F.sum(F.mul(prob, prob), [0, 2, 3]);
  const ySum = F.sum(t, [0, 2, 3]);
  const dice = F.div(F.add(F.mul(inter, 2), 1e-5), F.add(F.add(zSum, ySum), 1e-5));
  const diceLoss = F.mean(F.sub(1, dice));
  return F.add(F.mul(ce, 1 - dw), F.mul(diceLoss, dw));
}

const PARITY: readonly [string, string][] = [
  ['dense_pe', 'dense_pe'],
  ['dense_embeddings', 'dense_embeddings'],
  ['decoder_hs', 'hs'],
  ['decoder_src', 'src'],
  ['hyper_in', 'hyperIn'],
  ['iou_predictions', 'iouPred'],
  ['low_res_logits', 'masks'],
];

for (const name of ['tiny-a', 'tiny-b']) {
  describe(`SAM decoder vs the official code (${name})`, () => {
    let fx: Fixture;
    before(() => {
      fx = loadFixture(name);
    });
    after(clearCompileCache);

    it('declares exactly the prompt_encoder.* and mask_decoder.* keys of masam.pth', () => {
      const { source } = build(fx);
      assert.deepEqual([...source.declared].sort(), [...fx.weights.keys()].sort());
    });

    it('matches the prompt-less forward and its intermediates', async (t) => {
      const { graph, promptEncoder, maskDecoder } = build(fx);
      const ref = fx.expected.get('image_embeddings')!;
      const image = graph.input('image_embeddings', 'float32', ref.shape);
      const densePe = promptEncoder.getDensePe();
      const { sparse, dense } = promptEncoder.forward({});
      assert.ok(isEmptyTokens(sparse));
      assert.deepEqual([...sparse.shape], fx.expected.get('sparse_embeddings')!.shape);
      const out = maskDecoder.forward({ imageEmbeddings: image, imagePe: densePe, sparse, dense });
      const values: Record<string, Value> = {
        dense_pe: densePe,
        dense_embeddings: dense,
        hs: out.hs,
        src: out.src,
        hyperIn: out.hyperIn,
        iouPred: out.iouPred,
        masks: out.masks,
      };
      const session = await compile(values);
      const got = await session.run({ image_embeddings: ref });
      const errors: string[] = [];
      for (const [key, ours] of PARITY) {
        const err = relErr(got[ours]!, fx.expected.get(key)!);
        const tol = key === 'low_res_logits' ? 1e-4 : 2e-5;
        errors.push(`${key} ${err.toExponential(2)}${err <= tol ? '' : ` > ${tol}`}`);
      }
      t.diagnostic(`${name} forward errors: ${errors.join(', ')}`);
      assert.ok(!errors.some((e) => e.includes('>')), `${name}: ${errors.join(', ')}`);
    });

    it('matches the official gradients of every decoder parameter', async (t) => {
      const trainable = new Set(
        fx.names.trainable.flatMap((t) =>
          t.masam_key &&
          (t.masam_key.startsWith('prompt_encoder.') || t.masam_key.startsWith('mask_decoder.'))
            ? [t.masam_key]
            : [],
        ),
      );
      const { graph, promptEncoder, maskDecoder } = build(fx, trainable);
      const ref = fx.expected.get('image_embeddings')!;
      const image = graph.input('image_embeddings', 'float32', ref.shape);
      const { sparse, dense } = promptEncoder.forward({});
      const out = maskDecoder.forward({
        imageEmbeddings: image,
        imagePe: promptEncoder.getDensePe(),
        sparse,
        dense,
      });
      const loss = officialLoss(out.masks, fx.label, fx.cfg.dice_weight);
      const params = graph.inputs.filter((v) => v.source.kind === 'input' && trainable.has(v.source.name));
      assert.equal(params.length, trainable.size);
      const grads = grad(loss, params);
      const entries = new Map(fx.names.trainable.map((t) => [t.masam_key, t]));
      const fetch: Record<string, Value> = { loss };
      params.forEach((p, i) => {
        const key = p.source.kind === 'input' ? p.source.name : '';
        const g = grads[i];
        assert.equal(g === null, entries.get(key)!.grad_is_none, `${key}: gradient presence`);
        if (g) fetch[`grad:${key}`] = g;
      });
      const session = await compile(fetch);
      const feeds: Record<string, HostTensor> = {};
      for (const { name: input } of session.inputs) {
        feeds[input] = input === 'image_embeddings' ? ref : fx.weights.get(input)!;
      }
      const got = await session.run(feeds);
      let largest = 0;
      for (const [key, t] of fx.expected) if (key.startsWith('grad/')) largest = Math.max(largest, maxAbs(t));
      let worst = 0;
      let worstKey = '';
      for (const key of Object.keys(fetch)) {
        if (key === 'loss') continue;
        const entry = entries.get(key.slice('grad:'.length))!;
        const refGrad = fx.expected.get(entry.grad_key)!;
        if (entry.grad_is_mathematically_zero) {
          assert.ok(maxAbs(got[key]!) <= 1e-6 * largest, `${key}: not ~0`);
          continue;
        }
        const err = relErr(got[key]!, refGrad);
        if (err > worst) [worst, worstKey] = [err, key];
        assert.ok(err <= 2e-4, `${name} grad ${key}: err ${err} > 2e-4`);
      }
      const refLoss = toFloat64(fx.expected.get('loss')!)[0]!;
      const lossErr = Math.abs(toFloat64(got['loss']!)[0]! - refLoss);
      assert.ok(lossErr <= 1e-5 * refLoss, `${name} loss: |diff| ${lossErr}`);
      t.diagnostic(
        `${name} gradients: worst err ${worst.toExponential(2)} (${worstKey}); |loss − ref| ${lossErr.toExponential(2)}`,
      );
    });
  });
}

describe('SAM decoder: gradients, prompts and batch pairing (tiny-a weights)', () => {
  let fx: Fixture;
  before(() => {
    fx = loadFixture('tiny-a');
  });
  after(clearCompileCache);

  it('reaches the mask path and nothing else from a loss on the masks', () => {
    const trainable = new Set(fx.weights.keys());
    const { graph, promptEncoder, maskDecoder } = build(fx, trainable);
    const ref = fx.expected.get('image_embeddings')!;
    const image = graph.input('image_embeddings', 'float32', ref.shape);
    const { sparse, dense } = promptEncoder.forward({});
    const out = maskDecoder.forward({
      imageEmbeddings: image,
      imagePe: promptEncoder.getDensePe(),
      sparse,
      dense,
    });
    const r = F.constant(randomTensor(out.masks.shape, new Rng(5)), image);
    const loss = F.sum(F.mul(out.masks, r));
    const params = graph.inputs.filter((v) => v.source.kind === 'input' && trainable.has(v.source.name));
    const grads = grad(loss, params);
    const present = new Map(
      params.map((p, i) => [p.source.kind === 'input' ? p.source.name : '', grads[i] !== null]),
    );
    for (const [key, has] of present) {
      const unreached =
        key.startsWith('mask_decoder.iou_prediction_head.') ||
        key.startsWith('prompt_encoder.point_embeddings.') ||
        key.startsWith('prompt_encoder.not_a_point_embed.') ||
        key.startsWith('prompt_encoder.mask_downscaling.');
      assert.equal(has, !unreached, `${key}: gradient ${has ? 'present' : 'absent'}`);
    }
    for (const key of [
      'mask_decoder.mask_tokens.weight',
      'mask_decoder.output_hypernetworks_mlps.3.layers.2.bias',
      'mask_decoder.output_upscaling.9.weight',
      'mask_decoder.output_upscaling.7.bias',
      'prompt_encoder.no_mask_embed.weight',
    ]) {
      assert.equal(present.get(key), true, key);
    }
  });

  it('pairs each image with its own box (B = 2 images, 2 boxes → [2, K, H, W], not B² pairs)', async () => {
    const cfg = fx.cfg;
    const ref = fx.expected.get('image_embeddings')!;
    const [, p, h, w] = ref.shape as [number, number, number, number];
    const two = hostTensor(
      'float32',
      [2, p, h, w],
      Float32Array.from(ref.data as Float32Array).subarray(0, 2 * p * h * w),
    );
    const boxes = hostTensor('float32', [2, 4], Float32Array.of(10, 20, 90, 70, 40, 5, 120, 100));
    const run = async (images: HostTensor<'float32'>, box: HostTensor<'float32'>) => {
      const { graph, promptEncoder, maskDecoder } = build(fx);
      const image = graph.input('image_embeddings', 'float32', images.shape);
      const boxIn = graph.input('boxes', 'float32', box.shape);
      const { sparse, dense } = promptEncoder.forward({ boxes: boxIn });
      assert.ok(!isEmptyTokens(sparse));
      assert.deepEqual(sparse.shape, [box.shape[0], 2, p]);
      assert.deepEqual(dense.shape, [box.shape[0], p, h, w]);
      const out = maskDecoder.forward({
        imageEmbeddings: image,
        imagePe: promptEncoder.getDensePe(),
        sparse,
        dense,
      });
      const k = numMaskTokens(cfg);
      assert.deepEqual(out.masks.shape, [images.shape[0], k, cfg.img_size, cfg.img_size]);
      assert.deepEqual(out.hs.shape, [images.shape[0], 1 + k + 2, p]);
      assert.deepEqual(out.iouPred.shape, [images.shape[0], k]);
      const session = await compile({ masks: out.masks });
      return (await session.run({ image_embeddings: images, boxes: box }))['masks']!;
    };
    const batched = await run(two, boxes);
    const per = numMaskTokens(cfg) * cfg.img_size * cfg.img_size;
    for (let i = 0; i < 2; i++) {
      const single = await run(
        hostTensor('float32', [1, p, h, w], two.data.slice(i * p * h * w, (i + 1) * p * h * w)),
        hostTensor('float32', [1, 4], boxes.data.slice(4 * i, 4 * i + 4)),
      );
      const row = hostTensor(
        'float32',
        single.shape,
        (batched.data as Float32Array).slice(i * per, (i + 1) * per),
      );
      assert.ok(relErr(row, single) <= 1e-5, `image ${i}: batched ≠ single`);
    }
  });

  it('embeds point prompts as SAM does (label −1 → not_a_point, 0/1 → PE + point embedding, padding)', async () => {
    const { graph, promptEncoder } = build(fx);
    const coords = graph.input('coords', 'float32', [1, 3, 2]);
    const labels = graph.input('labels', 'float32', [1, 3]);
    const { sparse, dense } = promptEncoder.forward({ points: { coords, labels } });
    assert.ok(!isEmptyTokens(sparse));
    const p = fx.cfg.out_chans;
    assert.deepEqual(sparse.shape, [1, 4, p]); // 3 points + the padding point (no boxes)
    assert.deepEqual(dense.shape, [1, p, tokenGrid(fx.cfg), tokenGrid(fx.cfg)]);
    const session = await compile({ sparse });
    const xy = [5, 7, 60.25, 100, 127, 0];
    const got = toFloat64(
      (
        await session.run({
          coords: hostTensor('float32', [1, 3, 2], Float32Array.from(xy)),
          labels: hostTensor('float32', [1, 3], Float32Array.of(-1, 0, 1)),
        })
      )['sparse']!,
    );
    const weight = (key: string) => toFloat64(fx.weights.get(key)!);
    const g = weight('prompt_encoder.pe_layer.positional_encoding_gaussian_matrix'); // [2, P/2]
    const half = p / 2;
    const expectRow = (i: number, label: number): number[] => {
      const ux = (2 * (xy[2 * i]! + 0.5)) / fx.cfg.img_size - 1;
      const uy = (2 * (xy[2 * i + 1]! + 0.5)) / fx.cfg.img_size - 1;
      const proj = Array.from({ length: half }, (_, c) => 2 * Math.PI * (ux * g[c]! + uy * g[half + c]!));
      const pe = [...proj.map(Math.sin), ...proj.map(Math.cos)];
      const add =
        label === -1
          ? weight('prompt_encoder.not_a_point_embed.weight')
          : weight(`prompt_encoder.point_embeddings.${label}.weight`);
      return pe.map((v, c) => (label === -1 ? 0 : v) + add[c]!);
    };
    const rows = [
      expectRow(0, -1),
      expectRow(1, 0),
      expectRow(2, 1),
      [...weight('prompt_encoder.not_a_point_embed.weight')],
    ];
    let worst = 0;
    rows.forEach((row, i) => {
      for (const [c, v] of row.entries()) worst = Math.max(worst, Math.abs(got[i * p + c]! - v));
    });
    assert.ok(worst < 1e-4, `point embeddings differ by ${worst}`);
  });

  it('runs the mask-prompt branch: [B, 1, 4h, 4w] → dense [B, P, h, w]', async () => {
    const { graph, promptEncoder } = build(fx);
    const t = tokenGrid(fx.cfg);
    const masks = graph.input('masks', 'float32', [2, 1, 4 * t, 4 * t]);
    const { sparse, dense } = promptEncoder.forward({ masks });
    assert.ok(isEmptyTokens(sparse));
    assert.deepEqual([...sparse.shape], [2, 0, fx.cfg.out_chans]);
    assert.deepEqual(dense.shape, [2, fx.cfg.out_chans, t, t]);
    const session = await compile({ dense });
    const got = await session.run({ masks: randomTensor([2, 1, 4 * t, 4 * t], new Rng(9)) });
    assert.ok(toFloat64(got['dense']!).every(Number.isFinite));
  });
});
