// float16 conversion (issue 13): binary16 rounding, the rewrite on MA-SAM (float32 boundary, sensitive ops
// in float32 and matrix products in float16 as onnxruntime's own type inference sees them, half the
// bytes), logits within the float16 error bound on onnxruntime's CPU, dtype-carrying attributes
// converted, and bad input refused naming the model.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { labelAgreement, relativeRms, runModelProto as run } from '../../test/compare.js';
import { fixtureInputs, loadFixtureModel } from '../../test/fixture_model.js';
import type { HostTensor } from '../core/index.js';
import { FLOAT16_OPS, convertToFloat16, float16Bits } from './float16.js';
import { type ModelProto, onnx } from './proto.js';
import type onnxProto from 'onnx-proto';

const T = onnx.TensorProto.DataType;

function valueInfo(name: string, elemType: number, dims: number[]): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

describe('float16Bits', () => {
  it('rounds to nearest even, keeps subnormals, clamps finite overflow', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff],
      [1e6, 0x7bff],
      [-1e6, 0xfbff],
      [1 + 2 ** -11, 0x3c00], // halfway, to even
      [1 + 3 * 2 ** -11, 0x3c02], // halfway, to even (up)
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // halfway to zero, to even
      [3 * 2 ** -25, 0x0002],
      [Number.POSITIVE_INFINITY, 0x7c00],
    ];
    for (const [value, bits] of cases) assert.equal(float16Bits(value), bits, `${value}`);
    assert.equal(float16Bits(Number.NaN) & 0x7e00, 0x7e00);
  });
});

describe('convertToFloat16 on MA-SAM (fixture tiny-a)', () => {
  let dir: string;
  let float32: ModelProto;
  let prompted: ModelProto;
  let feeds: Record<string, ort.Tensor>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'masam-float16-'));
    const model = await loadFixtureModel('tiny-a');
    await model.exportOnnx(join(dir, 'model.onnx'), { slices: 5 });
    float32 = onnx.ModelProto.decode(readFileSync(join(dir, 'model.onnx')));
    await model.exportOnnx(join(dir, 'prompted.onnx'), { slices: 5, prompts: { points: 2 } });
    prompted = onnx.ModelProto.decode(readFileSync(join(dir, 'prompted.onnx')));
    const image = fixtureInputs('tiny-a').get('image') as HostTensor<'float32'>;
    feeds = { image: new ort.Tensor('float32', image.data, [...image.shape]) };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps a float32 boundary and stores the weights in half the bytes', () => {
    const half = convertToFloat16(float32, { source: 'model.onnx' });
    const graph = half.graph!;
    assert.deepEqual(
      [...graph.input!, ...graph.output!].map((v) => v.type!.tensorType!.elemType),
      [...float32.graph!.input!, ...float32.graph!.output!].map((v) => v.type!.tensorType!.elemType),
    );
    const bytes = (m: ModelProto, type: number) =>
      m.graph!.initializer!.filter((t) => t.dataType === type).reduce((n, t) => n + t.rawData!.byteLength, 0);
    const before = bytes(float32, T.FLOAT);
    // Float32 stays for what only float32 ops read — LayerNorm scales and biases — and for constant chains
    // ending in one, which onnxruntime folds at load: the positional encoding (Sin/Cos), and without
    // prompts the decoder's first self-attention over its constant tokens (Softmax). 2.4 % of the bytes
    // here; bound 3 %.
    assert.ok(bytes(half, T.FLOAT) < 0.03 * before, `${bytes(half, T.FLOAT)} float32 bytes remain`);
    assert.ok(bytes(half, T.FLOAT16) < 0.5 * before, `${bytes(half, T.FLOAT16)} float16 bytes of ${before}`);
    const kept = graph.initializer!.filter((t) => t.dataType === T.FLOAT).map((t) => t.name!);
    const expectedKept =
      /norm|neck\.[13]\.|output_upscaling\.[147]\.|pe_layer|^const_|_token|layers\.0\.self_attn/;
    assert.deepEqual(
      kept.filter((name) => !expectedKept.test(name)),
      [],
    );
  });

  it('computes LayerNorm, Softmax, means, Erf, Sin/Cos and their angles in float32, matrix products in float16', async () => {
    // onnxruntime checks every declared graph output's type against its own inference: declare the inputs
    // of the sensitive ops and the prompt encoder's MatMuls (angles of Sin/Cos) float32, the outputs of
    // the encoder's MatMuls and Convs float16. The box- and point-prompted model has all of them.
    const half = convertToFloat16(prompted);
    const graph = half.graph!;
    const fp32Ops = new Set(['LayerNormalization', 'Softmax', 'ReduceMean', 'Erf', 'Sin', 'Cos']);
    const probes = new Map<string, number>();
    for (const n of graph.node!) {
      if (fp32Ops.has(n.opType!)) probes.set(n.input![0]!, T.FLOAT);
      if (n.opType === 'MatMul' && n.name!.startsWith('prompt_encoder/')) probes.set(n.output![0]!, T.FLOAT);
      if (['MatMul', 'Conv', 'ConvTranspose'].includes(n.opType!) && n.name!.startsWith('image_encoder/'))
        probes.set(n.output![0]!, T.FLOAT16);
    }
    assert.ok([...probes.values()].filter((t) => t === T.FLOAT).length >= 40);
    assert.ok([...probes.values()].filter((t) => t === T.FLOAT16).length >= 40);
    assert.ok(![...probes.keys()].some((name) => graph.output!.some((o) => o.name === name)));
    const probed = onnx.ModelProto.create({
      ...half,
      graph: {
        ...graph,
        output: [...graph.output!, ...[...probes].map(([name, type]) => valueInfo(name, type, []))],
      },
    });
    // A declared output with a rank-0 shape would clash with the real one: drop the shapes.
    for (const o of probed.graph!.output!.slice(graph.output!.length)) o.type!.tensorType!.shape = null;
    const rows = 5;
    const results = await run(probed, {
      ...feeds,
      boxes: new ort.Tensor(
        'float32',
        Float32Array.from({ length: rows * 4 }, (_, i) => 20 + 11 * (i % 4)),
        [rows, 4],
      ),
      point_coords: new ort.Tensor(
        'float32',
        Float32Array.from({ length: rows * 4 }, (_, i) => 30 + 7 * i),
        [rows, 2, 2],
      ),
      point_labels: new ort.Tensor(
        'float32',
        Float32Array.from({ length: rows * 2 }, (_, i) => i % 2),
        [rows, 2],
      ),
    });
    for (const [name, type] of probes) {
      assert.equal(results[name]!.type, type === T.FLOAT ? 'float32' : 'float16', name);
    }
  });

  it('keeps the logits within the float16 error bound and the labels', async () => {
    const half = convertToFloat16(float32);
    const expected = (await run(float32, feeds)).masks!;
    const actual = (await run(half, feeds)).masks!;
    assert.equal(actual.type, 'float32');
    const [a, e] = [actual.data as Float32Array, expected.data as Float32Array];
    // A float16 value carries a relative rounding error of rms 2⁻¹¹/√3 ≈ 2.8e-4. onnxruntime's CPU
    // computes each op in float32 (casting where it has no float16 kernel), so errors come from the
    // ≈ 30 float16 tensors each of the 4 blocks, the neck and the decoder layers store on the deepest path
    // (≈ 200): √200 × 2.8e-4 ≈ 0.4 % if independent. Bound 0.5 %.
    const error = relativeRms(a, e);
    assert.ok(error < 0.005, `relative RMS error of the logits ${error}`);
    let sq = 0;
    for (let i = 0; i < e.length; i++) sq += (a[i]! - e[i]!) ** 2;
    // As for int8 (quantize.test.ts): where float32's winner leads by over 4σ, a flip has p ≈ 0.25 %.
    const agreement = labelAgreement(a, e, expected.dims, 4 * Math.sqrt(sq / e.length));
    assert.ok(agreement >= 0.997, `label agreement ${agreement}`);
  });
});

describe('convertToFloat16 on a hand-made graph', () => {
  // y = (x + Constant) · ConstantOfShape(0.25) + Cast(n → float) is a graph output that float16 and float32
  // nodes read further (Relu → w, Softmax → s).
  const attr = onnx.AttributeProto.AttributeType;
  const tensor = (dims: number[], values: number[]) => ({
    dims,
    dataType: T.FLOAT,
    rawData: new Uint8Array(Float32Array.from(values).buffer),
  });
  function handMade(): ModelProto {
    return onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'hand',
        node: [
          {
            opType: 'Constant',
            output: ['c'],
            attribute: [{ name: 'value', type: attr.TENSOR, t: tensor([3], [0.5, -1, 2]) }],
          },
          { opType: 'Add', input: ['x', 'c'], output: ['a'] },
          {
            opType: 'ConstantOfShape',
            input: ['shape'],
            output: ['z'],
            attribute: [{ name: 'value', type: attr.TENSOR, t: tensor([1], [0.25]) }],
          },
          { opType: 'Mul', input: ['a', 'z'], output: ['b'] },
          {
            opType: 'Cast',
            input: ['n'],
            output: ['k'],
            attribute: [{ name: 'to', type: attr.INT, i: T.FLOAT }],
          },
          { opType: 'Add', input: ['b', 'k'], output: ['y'] },
          { opType: 'Relu', input: ['y'], output: ['w'] },
          { opType: 'Softmax', input: ['y'], output: ['s'] },
        ],
        initializer: [
          {
            name: 'shape',
            dims: [2],
            dataType: T.INT64,
            rawData: new Uint8Array(BigInt64Array.from([2n, 3n]).buffer),
          },
        ],
        input: [valueInfo('x', T.FLOAT, [2, 3]), valueInfo('n', T.INT64, [2, 3])],
        output: [
          valueInfo('y', T.FLOAT, [2, 3]),
          valueInfo('w', T.FLOAT, [2, 3]),
          valueInfo('s', T.FLOAT, [2, 3]),
        ],
      },
    });
  }

  it('converts Constant, ConstantOfShape and Cast, and casts outputs back to float32', async () => {
    const half = convertToFloat16(handMade());
    const byOp = (op: string) => half.graph!.node!.find((n) => n.opType === op && n.output![0] !== 'y')!;
    assert.equal(byOp('Constant').attribute![0]!.t!.dataType, T.FLOAT16);
    assert.equal(byOp('ConstantOfShape').attribute![0]!.t!.dataType, T.FLOAT16);
    const casts = half.graph!.node!.filter((n) => n.opType === 'Cast');
    assert.ok(casts.some((n) => n.input![0] === 'n' && Number(n.attribute![0]!.i) === T.FLOAT16));
    assert.ok(casts.some((n) => n.output![0] === 'y' && Number(n.attribute![0]!.i) === T.FLOAT));
    const feeds = {
      x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, -4, 5.5, 0.125]), [2, 3]),
      n: new ort.Tensor('int64', BigInt64Array.from([1n, -2n, 3n, 0n, 7n, -1n]), [2, 3]),
    };
    const expected = await run(handMade(), feeds);
    const actual = await run(half, feeds);
    for (const name of ['y', 'w', 's']) {
      assert.equal(actual[name]!.type, 'float32', name);
      // Every value here is exact in float16 (multiples of 1/32 below 16) but Softmax's, kept float32.
      assert.deepEqual(actual[name]!.data, expected[name]!.data, name);
    }
  });

  it('refuses external data naming the model, and lists its float16 ops', () => {
    const model = handMade();
    model.graph!.initializer![0]!.rawData = null;
    model.graph!.initializer![0]!.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    model.graph!.initializer![0]!.externalData = [{ key: 'location', value: 'decoder.onnx.data' }];
    assert.throws(
      () => convertToFloat16(model, { source: 'decoder.onnx' }),
      /decoder\.onnx: initializer 'shape' is stored in external data 'decoder\.onnx\.data'/,
    );
    for (const op of [
      'LayerNormalization',
      'Softmax',
      'ReduceMean',
      'ReduceSum',
      'Pow',
      'Sqrt',
      'Exp',
      'Log',
      'Erf',
    ]) {
      assert.equal(FLOAT16_OPS.has(op), false, op);
    }
  });
});
