// MA-SAM through the public API against the official implementation's outputs (../shared/fixtures
// tiny-a, tiny-b): forward outputs, the three losses and every gradient, with the fixture README's
// tolerances and its rules for gradients that are None or mathematically zero.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { type MaSamModel, loadMaSam } from '../src/api/model.js';
import type { HostTensor } from '../src/core/index.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { clearCompileCache } from '../src/runtime/index.js';
import { fixturePath } from './fixtures.js';

interface TrainableEntry {
  name: string;
  shape: number[];
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

    it('loads both official checkpoints', async () => {
      model = await loadMaSam({
        config,
        samCheckpoint: fixturePath(fixture, 'sam.pth'),
        masamCheckpoint: fixturePath(fixture, 'masam.pth'),
      });
      const trainable = new Set(
        [...model.trainable].length === names.trainable.length ? names.trainable.map((t) => t.name) : [],
      );
      assert.equal(
        trainable.size,
        names.trainable.length,
        'trainable parameter count equals the official one',
      );
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

    it('loss, CE and Dice within 1e-5 relative; every gradient within the fixture rules', async () => {
      const r = await model.lossAndGrads(image.data, label.data, { shape: [...image.shape] });
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
        console.log(`${fixture}: worst gradient ${worst.name} ${worst.err.toExponential(2)}`);
      assert.deepEqual(failures, []);
      assert.equal(r.grads.size, names.trainable.filter((t) => !t.grad_is_none).length);
    });
  });
}
