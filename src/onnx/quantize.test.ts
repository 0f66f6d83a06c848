// int8 weight quantization (issue 13): the rewrite happens (op counts, int8 initializers, ~4× fewer weight
// bytes, the FacT-merged qkv weights included), onnxruntime runs the result, and its logits stay within
// error bounds derived from the quantization step; bad input is refused naming the model.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { labelAgreement, relativeRms, runModelProto as run } from '../../test/compare.js';
import { fixtureInputs, loadFixtureModel } from '../../test/fixture_model.js';
import { type HostTensor, Rng } from '../core/index.js';
import { type ModelProto, onnx } from './proto.js';
import { quantizeWeightsInt8 } from './quantize.js';

const T = onnx.TensorProto.DataType;

/** RMS of actual − expected. */
function rmsError(actual: Float32Array, expected: Float32Array): number {
  let err = 0;
  for (let i = 0; i < expected.length; i++) err += (actual[i]! - expected[i]!) ** 2;
  return Math.sqrt(err / expected.length);
}

/** One MatMul x [M, K] × W [K, N] with W a float32 initializer. */
function matmulModel(w: Float32Array, m: number, k: number, n: number): ModelProto {
  const vi = (name: string, dims: number[]) => ({
    name,
    type: { tensorType: { elemType: T.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  return onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'matmul',
      node: [{ name: 'linear/MatMul', opType: 'MatMul', input: ['x', 'w'], output: ['y'] }],
      initializer: [{ name: 'w', dims: [k, n], dataType: T.FLOAT, rawData: new Uint8Array(w.buffer) }],
      input: [vi('x', [m, k])],
      output: [vi('y', [m, n])],
    },
  });
}

function uniform(rng: Rng, length: number, scale: number): Float32Array {
  return Float32Array.from({ length }, () => (rng.uniform() * 2 - 1) * scale);
}

describe('quantizeWeightsInt8 on one MatMul', () => {
  const [m, k, n] = [256, 512, 384];
  const rng = new Rng(3);
  const w = uniform(rng, k * n, 0.05);
  const x = new ort.Tensor('float32', uniform(rng, m * k, 1), [m, k]);

  it('stores per-column int8 weights whose scale reconstructs W to half a step', () => {
    const { model, report } = quantizeWeightsInt8(matmulModel(w, m, k, n));
    assert.equal(report.quantized, 1);
    const inits = new Map(model.graph!.initializer!.map((t) => [t.name, t]));
    assert.equal(inits.has('w'), false, 'the float32 weight is dropped');
    const q = new Int8Array(new Uint8Array(inits.get('w_int8')!.rawData!).buffer);
    const scale = new Float32Array(new Uint8Array(inits.get('w_scale')!.rawData!).buffer);
    assert.deepEqual(inits.get('w_int8')!.dims!.map(Number), [k, n]);
    assert.equal(scale.length, n);
    for (let c = 0; c < n; c++) {
      let peak = 0;
      for (let r = 0; r < k; r++) {
        assert.ok(Math.abs(q[r * n + c]! * scale[c]! - w[r * n + c]!) <= scale[c]! / 2 + 1e-9);
        peak = Math.max(peak, Math.abs(q[r * n + c]!));
      }
      assert.equal(peak, 63, `column ${c}: 7-bit weights reach ±63`);
    }
    assert.equal(report.initializerBytesBefore, k * n * 4);
    assert.equal(report.initializerBytesAfter, k * n + n * 4);
  });

  it('matches float32 within the error of 7-bit weights and 8-bit activations', async () => {
    const { model } = quantizeWeightsInt8(matmulModel(w, m, k, n));
    const ops = model.graph!.node!.map((node) => node.opType);
    assert.deepEqual(ops, ['DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul', 'Mul']);
    const expected = (await run(matmulModel(w, m, k, n), { x })).y!.data as Float32Array;
    const actual = (await run(model, { x })).y!.data as Float32Array;
    // Rounding to a step s leaves an error of rms s/√12. Uniform weights: s = max|w|/63 and rms|w| = max/√3,
    // so 0.79 % relative; uniform activations on [-1, 1] in 255 steps: 0.39 %; together √(0.79² + 0.39²) =
    // 0.88 %. Bound 1.2 %. (Full-range ±127 weights saturate AVX2's u8×s8 pair sums: 17–19 % here.)
    const error = relativeRms(actual, expected);
    assert.ok(error > 0.004 && error < 0.012, `relative RMS error ${error}`);
  });

  it('leaves a model without eligible MatMuls unchanged and says so', () => {
    const original = matmulModel(w, m, k, n);
    const small = quantizeWeightsInt8(original, { minElements: k * n + 1 });
    assert.equal(small.report.quantized, 0);
    assert.equal(small.report.keptFloat.smallWeights, 1);
    assert.deepEqual(small.model.graph!.node, original.graph!.node);
    const excluded = quantizeWeightsInt8(original, { include: (name) => name.startsWith('image_encoder/') });
    assert.equal(excluded.report.quantized, 0);
    assert.equal(excluded.report.keptFloat.excluded, 1);
    assert.equal(excluded.report.initializerBytesAfter, excluded.report.initializerBytesBefore);
  });

  it('refuses weights in external data and old opsets, naming the model', () => {
    const external = matmulModel(w, m, k, n);
    const t = external.graph!.initializer![0]!;
    t.rawData = null;
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.externalData = [{ key: 'location', value: 'encoder.onnx.data' }];
    assert.throws(
      () => quantizeWeightsInt8(external, { source: 'encoder.onnx' }),
      /encoder\.onnx: initializer 'w' is stored in external data 'encoder\.onnx\.data'/,
    );
    const old = matmulModel(w, m, k, n);
    old.opsetImport = [{ domain: '', version: 10 }];
    assert.throws(
      () => quantizeWeightsInt8(old, { source: 'old.onnx' }),
      /old\.onnx: .*opset ≥ 11 \(model has 10\)/,
    );
  });
});

describe('quantizeWeightsInt8 on MA-SAM (fixture tiny-a, image encoder only)', () => {
  let dir: string;
  let float32: ModelProto;
  let feeds: Record<string, ort.Tensor>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'masam-quantize-'));
    const model = await loadFixtureModel('tiny-a');
    await model.exportOnnx(join(dir, 'model.onnx'), { slices: 5 });
    float32 = onnx.ModelProto.decode(readFileSync(join(dir, 'model.onnx')));
    const image = fixtureInputs('tiny-a').get('image') as HostTensor<'float32'>;
    feeds = { image: new ort.Tensor('float32', image.data, [...image.shape]) };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const encoderOnly = { include: (name: string) => name.startsWith('image_encoder/') };
  // tiny-a's 3D-adapter conv taps are 48 × 48: below the default minElements, so taken in explicitly.
  const withTaps = { ...encoderOnly, minElements: 48 * 48 };

  it('rewrites every encoder linear layer, the FacT-merged qkv included, to int8', () => {
    const { model, report } = quantizeWeightsInt8(float32, encoderOnly);
    const nodes = model.graph!.node!;
    const integer = nodes.filter((n) => n.opType === 'MatMulInteger');
    assert.equal(integer.length, report.quantized);
    assert.ok(integer.every((n) => n.name!.startsWith('image_encoder/')));
    // 4 blocks × (qkv, proj, mlp.lin1, mlp.lin2, and the two adapters' down and up projections) = 32.
    assert.equal(report.quantized, 32);
    const names = new Set(model.graph!.initializer!.map((t) => t.name));
    for (const gone of ['image_encoder.blocks.0.attn.qkv.weight', 'image_encoder.FacTu.weight']) {
      assert.equal(names.has(gone), false, `${gone} is no longer needed`);
    }
    assert.ok(names.has('mask_decoder.transformer.layers.0.mlp.lin1.weight'), 'the decoder stays float32');
    assert.equal(report.keptFloat.smallWeights, 4 * 2 * 3, 'the adapter conv taps are small');
    // With them: each adapter's Conv3d runs as 3 MatMuls over Slices of its weight (models/masam/adapter3d.ts).
    const taps = quantizeWeightsInt8(float32, withTaps);
    assert.equal(taps.report.quantized, 32 + 4 * 2 * 3);
    const tapNames = new Set(taps.model.graph!.initializer!.map((t) => t.name));
    assert.equal(tapNames.has('image_encoder.blocks.0.adapter_conv.weight'), false);
    // Encoder linear weights: 4 blocks × (3·96² + 96² + 2·4·96² + 4·96·48), float32 → int8 (3 bytes each
    // saved, less a float32 scale per column).
    const linear = 4 * (12 * 96 * 96 + 4 * 96 * 48);
    const saved = report.initializerBytesBefore - report.initializerBytesAfter;
    assert.ok(saved > 2.9 * linear, `saved ${saved} bytes of ${3 * linear}`);
    const after = model.graph!.initializer!.filter((t) => t.dataType === T.INT8);
    assert.equal(
      after.reduce((s, t) => s + t.rawData!.byteLength, 0),
      linear,
    );
  });

  it('keeps the logits within the int8 error bound and the labels', async () => {
    const { model } = quantizeWeightsInt8(float32, withTaps);
    const expected = (await run(float32, feeds)).masks!;
    const actual = (await run(model, feeds)).masks!;
    // Each int8 MatMul adds ≈1.2 % relative error (0.8 % from 7-bit weights, ~0.9 % from 8-bit
    // activations spanning ±4σ); each block has 10 in series (qkv, proj, lin1, lin2, and per adapter down,
    // conv — its 3 taps side by side — and up), independent errors adding in quadrature over 4 blocks:
    // √40 × 1.2 % ≈ 7.6 %. Bound 8 %.
    const [a, e] = [actual.data as Float32Array, expected.data as Float32Array];
    const error = relativeRms(a, e);
    assert.ok(error < 0.08, `relative RMS error of the logits ${error}`);
    // This random-weight model has many near-ties (2 % of pixels flip), so labels are compared where
    // float32's winner leads by over 4σ (σ the RMS logit error): flipping one needs the difference of two
    // logit errors (σ√2) beyond 2.8 of its standard deviations, p ≈ 0.25 %. Bound 99.7 %.
    const agreement = labelAgreement(a, e, expected.dims, 4 * rmsError(a, e));
    assert.ok(agreement >= 0.997, `label agreement ${agreement}`);
  });
});
