// MA-SAM model behaviour beyond parity: the exported ONNX equals forward(), zero FacT/adapter branches
// give plain SAM, trainable parameters get true gradients and frozen ones none, and unsafe checkpoints are
// refused.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type MaSamModel, loadMaSam } from '../src/api/model.js';
import { type HostTensor, Rng, hostTensor } from '../src/core/index.js';
import { Graph } from '../src/graph/index.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { readZip, writeStoredZip } from '../src/io/zip.js';
import { inspectModel } from '../src/onnx/inspect.js';
import { officialParamName } from '../src/models/masam/checkpoint.js';
import { MaSamImageEncoder } from '../src/models/masam/masam_encoder.js';
import { ImageEncoderViT } from '../src/models/sam/image_encoder.js';
import { resolveConfig } from '../src/models/sam/config.js';
import { ParamScope, ParamSource, type Weights } from '../src/nn/index.js';
import * as F from '../src/ops/index.js';
import { OrtSession, clearCompileCache, compile } from '../src/runtime/index.js';
import { maxRelDiff } from './compare.js';
import { fixturePath } from './fixtures.js';

const config = JSON.parse(readFileSync(fixturePath('tiny-a', 'config.json'), 'utf8'));
const inputs = readSafetensors(readFileSync(fixturePath('tiny-a', 'inputs.safetensors')), 'inputs').tensors;
const image = inputs.get('image')! as HostTensor<'float32'>;
const label = inputs.get('label')! as HostTensor<'int32'>;
const names = JSON.parse(readFileSync(fixturePath('tiny-a', 'names.json'), 'utf8')) as {
  frozen: { name: string }[];
  trainable: { name: string; grad_is_none: boolean }[];
};

describe('MA-SAM model (tiny-a)', () => {
  let loaded: Promise<MaSamModel> | undefined;
  const load = (): Promise<MaSamModel> => {
    loaded ??= loadMaSam({
      config,
      samCheckpoint: fixturePath('tiny-a', 'sam.pth'),
      masamCheckpoint: fixturePath('tiny-a', 'masam.pth'),
    });
    return loaded;
  };
  after(clearCompileCache);

  it('exports a self-contained ONNX file whose outputs equal forward()', async () => {
    const m = await load();
    const dir = mkdtempSync(join(tmpdir(), 'masam-export-'));
    try {
      const path = join(dir, 'model.onnx');
      await m.exportOnnx(path, {
        slices: 5,
        classNames: ['background', 'liver', 'spleen', 'kidney'],
        preprocessing: { modality: 'ct' },
      });
      const session = await OrtSession.fromFile(path);
      assert.deepEqual(session.inputs, [{ name: 'image', dtype: 'float32', shape: [1, 5, 3, 128, 128] }]);
      const out = await session.run({ image });
      const ref = await m.forward(image.data, { shape: [...image.shape] });
      assert.deepEqual([...out['masks']!.shape], ref.masks.shape);
      assert.ok(maxRelDiff(out['masks']!.data as Float32Array, ref.masks.data) < 1e-6);
      assert.ok(maxRelDiff(out['iou_predictions']!.data as Float32Array, ref.iouPredictions.data) < 1e-6);
      await session.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exports the box-prompted variant: boxes and point slots as inputs, outputs equal forward()', async () => {
    const m = await load();
    const dir = mkdtempSync(join(tmpdir(), 'masam-export-'));
    try {
      const path = join(dir, 'model.onnx');
      await m.exportOnnx(path, { slices: 5, preprocessing: { modality: 'ct' }, prompts: { points: 2 } });
      const session = await OrtSession.fromFile(path);
      assert.deepEqual(session.inputs, [
        { name: 'image', dtype: 'float32', shape: [1, 5, 3, 128, 128] },
        { name: 'boxes', dtype: 'float32', shape: [5, 4] },
        { name: 'point_coords', dtype: 'float32', shape: [5, 2, 2] },
        { name: 'point_labels', dtype: 'float32', shape: [5, 2] },
      ]);
      assert.equal(inspectModel(readFileSync(path), path).metadata['masam.prompts'], '{"points":2}');
      const boxes = Float32Array.from({ length: 20 }, (_, i) => [10, 20, 90, 100][i % 4]! + (i >> 2));
      const pointCoords = Float32Array.from({ length: 20 }, (_, i) => 40 + i);
      const pointLabels = Float32Array.of(1, -1, 0, 1, -1, -1, 1, 1, 0, -1);
      const out = await session.run({
        image,
        boxes: hostTensor('float32', [5, 4], boxes),
        point_coords: hostTensor('float32', [5, 2, 2], pointCoords),
        point_labels: hostTensor('float32', [5, 2], pointLabels),
      });
      const ref = await m.forward(image.data, { shape: [...image.shape], boxes, pointCoords, pointLabels });
      assert.ok(maxRelDiff(out['masks']!.data as Float32Array, ref.masks.data) < 1e-6);
      // The prompts reach the masks: without them the logits differ.
      const plain = await m.forward(image.data, { shape: [...image.shape] });
      assert.ok(maxRelDiff(plain.masks.data, ref.masks.data) > 1e-3);
      await session.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with FacT V = 0 and both adapters up-projections = 0 is plain SAM on each slice', async () => {
    const m = await load();
    const cfg = resolveConfig(config);
    const weights: Weights = new Map(m.weights);
    for (const [name, t] of weights) {
      if (name === 'image_encoder.FacTv.weight' || /adapter_linear_up(_2)?\.weight$/.test(name)) {
        weights.set(name, hostTensor('float32', t.shape));
      }
    }
    const g = new Graph();
    const x = g.input('x', 'float32', [5, 3, 128, 128]);
    const source = new ParamSource({ graph: g, weights });
    const masam = new MaSamImageEncoder(cfg, new ParamScope(source).pp('image_encoder')).forward(
      x,
      5,
    ).embeddings;
    // plain SAM sees each slice alone: batch 1 per call
    const slices = F.split(x, [1, 1, 1, 1, 1], 0);
    const sam = new ImageEncoderViT(cfg, new ParamScope(source).pp('image_encoder'));
    const plain = F.concat(
      slices.map((s) => sam.forward(s)),
      0,
    );
    const r = await (await compile({ masam, plain })).run({
      x: hostTensor('float32', [5, 3, 128, 128], image.data),
    });
    assert.ok(maxRelDiff(r['masam']!.data as Float32Array, r['plain']!.data as Float32Array) < 1e-6);
    // and with the fixture's non-zero branches the two differ clearly
    const g2 = new Graph();
    const x2 = g2.input('x', 'float32', [5, 3, 128, 128]);
    const s2 = new ParamSource({ graph: g2, weights: m.weights });
    const adapted = new MaSamImageEncoder(cfg, new ParamScope(s2).pp('image_encoder')).forward(
      x2,
      5,
    ).embeddings;
    const r2 = await (await compile({ adapted })).run({
      x: hostTensor('float32', [5, 3, 128, 128], image.data),
    });
    assert.ok(maxRelDiff(r2['adapted']!.data as Float32Array, r['plain']!.data as Float32Array) > 0.05);
  });

  it('gives real gradients to trainable parameters and none to frozen ones, which still shape the loss', async () => {
    const m = await load();
    const r = await m.lossAndGrads(image.data, label.data, { shape: [...image.shape] });
    // The set is the official one: names.json lists what PyTorch gives a .grad.
    assert.deepEqual(
      [...r.grads.keys()].sort(),
      names.trainable
        .filter((t) => !t.grad_is_none)
        .map((t) => t.name)
        .sort(),
    );
    // Loss at the weights moved by ±ε·u over one group: u is the group's gradient scaled to max 1 (the
    // strongest signal for float32 finite differences; a scaled, zero or misplaced gradient misses it), or
    // random for frozen weights, which have none.
    const rng = new Rng(11);
    const epsilon = 3e-5;
    const directional = async (group: string) => {
      const params = [...m.weights.keys()].filter((n) => m.groups.get(n) === group);
      const originals = params.map((n) => m.weights.get(n)!);
      const directions = params.map((n, i) => {
        const g = r.grads.get(officialParamName(n));
        return Float32Array.from(originals[i]!.data, (_, j) => (g ? g.data[j]! : rng.range(-1, 1)));
      });
      const scale = Math.max(...directions.map((u) => u.reduce((a, v) => Math.max(a, Math.abs(v)), 0)));
      const lossAt = async (sign: number) => {
        params.forEach((n, i) => {
          const moved = Float32Array.from(
            originals[i]!.data,
            (v, j) => v + (sign * epsilon * directions[i]![j]!) / scale,
          );
          m.weights.set(n, hostTensor('float32', originals[i]!.shape, moved));
        });
        m.invalidate(); // frozen weights are baked into the compiled graph
        return (await m.lossAndGrads(image.data, label.data, { shape: [...image.shape] })).loss;
      };
      try {
        const numeric = ((await lossAt(1)) - (await lossAt(-1))) / (2 * epsilon);
        let analytic = 0;
        params.forEach((n, i) => {
          const g = r.grads.get(officialParamName(n));
          directions[i]!.forEach((u, j) => {
            analytic += ((g?.data[j] ?? 0) * u) / scale;
          });
        });
        return { numeric, analytic, withGradient: params.filter((n) => r.grads.has(officialParamName(n))) };
      } finally {
        for (const [i, n] of params.entries()) m.weights.set(n, originals[i]!);
        m.invalidate();
      }
    };
    for (const group of ['fact', 'adapters', 'mask_decoder']) {
      const { numeric, analytic } = await directional(group);
      assert.ok(Math.abs(numeric) > 0.1, `${group}: the loss depends on it (${numeric})`);
      assert.ok(
        Math.abs(numeric - analytic) <= 2e-2 * Math.abs(numeric),
        `${group}: finite difference ${numeric} vs gradient ${analytic}`,
      );
    }
    // Frozen weights move the loss too, yet get no gradient.
    const frozen = await directional('base');
    assert.ok(Math.abs(frozen.numeric) > 0.1, `frozen weights shape the loss (${frozen.numeric})`);
    assert.deepEqual(frozen.withGradient, []);
  });

  it('refuses a checkpoint whose pickle names a foreign global, executing nothing', async () => {
    const zip = readZip(new Uint8Array(readFileSync(fixturePath('tiny-a', 'sam.pth'))), 'sam.pth');
    const from = new TextEncoder().encode('collections\nOrderedDict\n');
    const to = new TextEncoder().encode('subprocess\ncheck_output\n');
    let patched = 0;
    // Re-zipped with valid CRCs, so the pickle reader's allowlist (not the zip's CRC check) refuses it.
    const bytes = writeStoredZip(
      [...zip.entries.keys()].map((name) => {
        const data = zip.read(name).slice();
        if (!name.endsWith('/data.pkl')) return { name, data };
        for (let i = 0; i + from.length <= data.length; i++) {
          if (from.every((b, j) => data[i + j] === b)) {
            data.set(to, i);
            patched++;
          }
        }
        return { name, data };
      }),
    );
    assert.equal(patched, 1);
    await assert.rejects(
      loadMaSam({ config, samCheckpoint: bytes }),
      /global 'subprocess\.check_output' is not allowed/,
    );
  });
});
