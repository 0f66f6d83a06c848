// MA-SAM through the public API against the official implementation's outputs (../shared/fixtures
// tiny-a, tiny-b): forward outputs, the three losses and every gradient, with the fixture README's
// tolerances and its rules for gradients that are None or mathematically zero.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { type LossAndGradsOptions, type MaSamModel, loadMaSam } from '../src/api/model.js';
import type { HostTensor } from '../src/core/index.js';
import { readPth } from '../src/io/pth.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { officialParamName } from '../src/models/masam/checkpoint.js';
import { BUFFER_GROUP } from '../src/nn/param.js';
import { clearCompileCache } from '../src/runtime/index.js';
import { fixturePath } from './fixtures.js';

interface ParamEntry {
  name: string;
  shape: number[];
  masam_key: string | null;
  sam_key: string | null;
  loaded_via?: string;
}

interface TrainableEntry extends ParamEntry {
  grad_key: string;
  grad_is_none: boolean;
  grad_is_mathematically_zero: boolean;
}

/** max|a − ref| / max|ref| (fixture README, "Tolerances"). */
function relErr(a: ArrayLike<number>, ref: HostTensor): number {
  let maxRef = 0;
  let maxErr = 0;
  for (let i = 0; i < ref.data.length; i++) {
    const r = Number(ref.data[i]);
    maxRef = Math.max(maxRef, Math.abs(r));
    maxErr = Math.max(maxErr, Math.abs(a[i]! - r));
  }
  return maxErr / maxRef;
}

for (const fixture of ['tiny-a', 'tiny-b']) {
  describe(`MA-SAM matches the official implementation (${fixture})`, () => {
    after(clearCompileCache);
    const config = JSON.parse(readFileSync(fixturePath(fixture, 'config.json'), 'utf8'));
    const names = JSON.parse(readFileSync(fixturePath(fixture, 'names.json'), 'utf8')) as {
      trainable: TrainableEntry[];
      frozen: ParamEntry[];
      buffers: (ParamEntry & { persistent: boolean })[];
    };
    const expected = readSafetensors(
      readFileSync(fixturePath(fixture, 'expected.safetensors')),
      'expected',
    ).tensors;
    const inputs = readSafetensors(
      readFileSync(fixturePath(fixture, 'inputs.safetensors')),
      'inputs',
    ).tensors;
    const image = inputs.get('image')! as HostTensor<'float32'>;
    const label = inputs.get('label')! as HostTensor<'int32'>;
    let model: MaSamModel;

    it('loads both official checkpoints: every official parameter, with the official source tensor', async () => {
      model = await loadMaSam({
        config,
        samCheckpoint: fixturePath(fixture, 'sam.pth'),
        masamCheckpoint: fixturePath(fixture, 'masam.pth'),
      });
      // names.json was written by the official PyTorch module; the model's lists come from our own code.
      const ours = (keep: (name: string) => boolean) =>
        [...model.weights.keys()].filter(keep).map(officialParamName).sort();
      const buffer = (n: string) => model.groups.get(n) === BUFFER_GROUP;
      const sorted = (entries: { name: string }[]) => entries.map((e) => e.name).sort();
      assert.deepEqual(
        ours((n) => model.trainable.has(n)),
        sorted(names.trainable),
      );
      assert.deepEqual(
        ours((n) => !model.trainable.has(n) && !buffer(n)),
        sorted(names.frozen),
      );
      assert.deepEqual(ours(buffer), sorted(names.buffers.filter((b) => b.persistent)));
      // Each tensor holds what the official loader puts there: masam.pth wins over sam.pth, resized
      // tables equal the official resize (expected.safetensors `loaded/…`).
      const sam = readPth(readFileSync(fixturePath(fixture, 'sam.pth')), 'sam.pth');
      const masam = readPth(readFileSync(fixturePath(fixture, 'masam.pth')), 'masam.pth');
      const byOfficial = new Map([...model.weights].map(([n, t]) => [officialParamName(n), t]));
      const mismatches: string[] = [];
      for (const e of [...names.trainable, ...names.frozen, ...names.buffers.filter((b) => b.persistent)]) {
        const got = byOfficial.get(e.name)!;
        const ref = e.masam_key
          ? masam.get(e.masam_key)
          : e.loaded_via === 'resized by load_from'
            ? expected.get(`loaded/${e.sam_key}`)
            : e.sam_key
              ? sam.get(e.sam_key)
              : undefined;
        if (!ref) mismatches.push(`${e.name}: no official source tensor`);
        else if (got.shape.join() !== e.shape.join()) mismatches.push(`${e.name}: shape ${got.shape}`);
        else if (!(relErr(got.data as Float32Array, ref) <= 1e-6))
          mismatches.push(`${e.name}: values differ`);
      }
      assert.deepEqual(mismatches, []);
    });

    it('forward: low_res_logits and masks ≤ 1e-4, iou_predictions and image_embeddings ≤ 2e-5', async () => {
      const out = await model.forward(image.data, { shape: [...image.shape] });
      const checks: [string, ArrayLike<number>, number][] = [
        ['low_res_logits', out.lowResLogits.data, 1e-4],
        ['masks', out.masks.data, 1e-4],
        ['iou_predictions', out.iouPredictions.data, 2e-5],
        ['image_embeddings', out.imageEmbeddings.data, 2e-5],
      ];
      for (const [key, data, tol] of checks) {
        assert.deepEqual(
          out[
            key === 'low_res_logits'
              ? 'lowResLogits'
              : key === 'masks'
                ? 'masks'
                : key === 'iou_predictions'
                  ? 'iouPredictions'
                  : 'imageEmbeddings'
          ].shape,
          [...expected.get(key)!.shape],
        );
        const err = relErr(data, expected.get(key)!);
        assert.ok(err <= tol, `${key}: ${err.toExponential(2)} > ${tol}`);
      }
    });

    // Through the training executor (train/executor.ts) with each recompute policy, and as one-stack
    // micro-batches where the fixture's batch has several stacks: the same tolerances for every variant.
    const batch = image.shape[0]!;
    const variants: { label: string; options: LossAndGradsOptions }[] = [
      { label: 'recompute blocks', options: { shape: [...image.shape], recompute: 'blocks' } },
      { label: 'recompute none', options: { shape: [...image.shape], recompute: 'none' } },
      ...(batch > 1
        ? (['blocks', 'none'] as const).map((recompute) => ({
            label: `recompute ${recompute}, ${batch} micro-batches of 1 stack`,
            options: { shape: [...image.shape], recompute, microBatch: 1 },
          }))
        : []),
    ];
    for (const variant of variants)
      it(`loss, CE and Dice within 1e-5 relative; every gradient within the fixture rules (${variant.label})`, async () => {
        const r = await model.lossAndGrads(image.data, label.data, variant.options);
        for (const [key, value] of [
          ['loss', r.loss],
          ['loss_ce', r.lossCe],
          ['loss_dice', r.lossDice],
        ] as const) {
          const ref = Number(expected.get(key)!.data[0]);
          assert.ok(Math.abs(value - ref) <= 1e-5 * Math.abs(ref), `${key}: ${value} vs ${ref}`);
        }
        let largest = 0;
        for (const t of names.trainable) {
          for (const v of expected.get(t.grad_key)!.data as Float32Array)
            largest = Math.max(largest, Math.abs(v));
        }
        const failures: string[] = [];
        let worst = { name: '', err: 0 };
        for (const t of names.trainable) {
          const got = r.grads.get(t.name);
          const ref = expected.get(t.grad_key)!;
          if (t.grad_is_none) {
            if (got?.data.some((v) => v !== 0)) failures.push(`${t.name}: expected no gradient`);
            continue;
          }
          if (!got) {
            failures.push(`${t.name}: gradient missing`);
            continue;
          }
          assert.deepEqual(got.shape, t.shape, t.name);
          if (t.grad_is_mathematically_zero) {
            const maxAbs = got.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
            if (maxAbs > 1e-6 * largest) failures.push(`${t.name}: |g| ${maxAbs} > 1e-6 × ${largest}`);
            continue;
          }
          const err = relErr(got.data, ref);
          if (err > worst.err) worst = { name: t.name, err };
          if (!(err <= 2e-4)) failures.push(`${t.name}: ${err.toExponential(2)}`);
        }
        if (process.env['MASAM_SHOW_ERRORS'])
          console.log(
            `${fixture} (${variant.label}): worst gradient ${worst.name} ${worst.err.toExponential(2)}`,
          );
        assert.deepEqual(failures, []);
        assert.equal(r.grads.size, names.trainable.filter((t) => !t.grad_is_none).length);
      });
  });
}
