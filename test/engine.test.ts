// Engine behaviour beyond single primitives: shape errors, autodiff bookkeeping and pruning, composites
// tied to their primitives, ONNX export details and runtime feed checks.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { grad, vjp } from '../src/autodiff/index.js';
import { FeedError, Rng, ShapeError, float64, hostTensor } from '../src/core/index.js';
import { Graph, type Value } from '../src/graph/index.js';
import { exportModel } from '../src/onnx/export.js';
import * as F from '../src/ops/index.js';
import { OrtSession, clearCompileCache, compile } from '../src/runtime/index.js';
import { checkVjp } from './check_vjp.js';

const { onnx } = onnxProto;

function random(shape: number[], seed: number) {
  const rng = new Rng(seed);
  const t = hostTensor('float64', shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = rng.range(-1, 1);
  return t;
}

async function run(outputs: Record<string, Value>, feeds: Record<string, ReturnType<typeof random>>) {
  const session = await compile(outputs, { optimization: 'basic' });
  return session.run(Object.fromEntries(session.inputs.map((s) => [s.name, feeds[s.name]!])));
}

function maxAbsDiff(a: ArrayLike<number | bigint>, b: ArrayLike<number | bigint>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(Number(a[i]) - Number(b[i])));
  return m;
}

/** Node op types of the exported graph for `outputs`. */
function exportedOps(outputs: Record<string, Value>): string[] {
  const first = Object.values(outputs)[0]!;
  const model = onnx.ModelProto.decode(exportModel(first.graph, { outputs }).model);
  return model.graph!.node!.map((n) => n.opType!);
}

describe('shape errors', () => {
  it('name the op, the scope path and the input shapes', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [4, 5]);
    assert.throws(
      () => g.withScope('image_encoder', () => g.withScope('blocks.3', () => F.matmul(a, b))),
      (err: unknown) =>
        err instanceof ShapeError &&
        err.message ===
          "MatMul at 'image_encoder/blocks.3': contracted sizes differ (3 vs 4) (input shapes [2, 3], [4, 5])",
    );
  });

  it('reject broadcasting mismatches in elementwise ops', () => {
    const g = new Graph();
    assert.throws(
      () => F.add(g.input('a', 'float32', [2, 3]), g.input('b', 'float32', [4])),
      /Add: shapes \[2, 3\] and \[4\] do not broadcast/,
    );
  });
});

describe('autodiff', () => {
  after(clearCompileCache);

  it('accumulates cotangents of a value used several times', async () => {
    const g = new Graph();
    const x = g.input('x', 'float64', [3]);
    const y = F.sum(F.add(F.mul(x, x), F.mul(x, 3))); // Σ x² + 3x → 2x + 3
    const [gx] = grad(y, [x]);
    const feeds = { x: float64([3], [1, -2, 0.5]) };
    const out = await run({ gx: gx! }, feeds);
    assert.deepEqual([...(out['gx']!.data as Float64Array)], [5, -1, 4]);
  });

  it('sums cotangents back over broadcast axes', async () => {
    const g = new Graph();
    const b = g.input('b', 'float64', [1, 3]);
    const x = g.input('x', 'float64', [4, 2, 3]);
    const [gb] = grad(F.sum(F.mul(x, b)), [b]);
    assert.deepEqual([...gb!.shape], [1, 3]);
    const feeds = { b: random([1, 3], 1), x: random([4, 2, 3], 2) };
    const out = await run({ gb: gb! }, feeds);
    const expected = [0, 1, 2].map((c) => {
      let s = 0;
      for (let i = 0; i < 8; i++) s += feeds.x.data[i * 3 + c]!;
      return s;
    });
    assert.ok(maxAbsDiff(out['gb']!.data, expected) < 1e-12);
  });

  it('returns null for values the loss does not depend on, and for values behind stopGradient', () => {
    const g = new Graph();
    const x = g.input('x', 'float64', [3]);
    const unused = g.input('unused', 'float64', [3]);
    const stopped = g.input('stopped', 'float64', [3]);
    const loss = F.sum(F.add(F.mul(x, 2), F.stopGradient(F.mul(stopped, 3))));
    const [gx, gu, gs] = grad(loss, [x, unused, stopped]);
    assert.ok(gx);
    assert.equal(gu, null);
    assert.equal(gs, null);
  });

  it('does no weight-gradient work for frozen weights', () => {
    // y = ((x·W1)·W2)·W3 with only W1 trainable: dW1 needs dx of the later matmuls but never dW2 or dW3.
    const build = (trainable: 'first' | 'all') => {
      const g = new Graph();
      const x = g.input('x', 'float32', [4, 8]);
      const w = [1, 2, 3].map((i) => g.input(`w${i}`, 'float32', [8, 8]));
      const y = F.sum(F.matmul(F.matmul(F.matmul(x, w[0]!), w[1]!), w[2]!));
      const wrt = trainable === 'first' ? [w[0]!] : w;
      const grads = grad(y, wrt);
      return exportedOps(Object.fromEntries(grads.map((gv, i) => [`g${i}`, gv!])));
    };
    const count = (ops: string[]) => ops.filter((o) => o === 'MatMul').length;
    // Only W1 trainable: two input-gradient matmuls (g·W3ᵀ, ·W2ᵀ) and W1's own xᵀ·(…); no forward
    // matmul is needed. All trainable: also h1, h2 forward and the dW2, dW3 weight gradients.
    assert.equal(count(build('first')), 3);
    assert.equal(count(build('all')), 7);
  });

  it('vjp with several outputs and explicit cotangents matches finite differences', async () => {
    const g = new Graph();
    const x = g.input('x', 'float64', [2, 3]);
    const [a, b] = F.split(F.tanh(x), [1, 2], 1);
    const r = await checkVjp({
      graph: g,
      outputs: [F.exp(a!), F.mul(b!, b!)],
      wrt: [x],
      feeds: { x: random([2, 3], 3) },
      epsilon: 1e-6,
      rng: new Rng(4),
      compileOptions: { optimization: 'basic' },
    });
    assert.ok(r.relativeError < 1e-6);
  });

  it('rejects a non-scalar loss', () => {
    const g = new Graph();
    const x = g.input('x', 'float64', [2]);
    assert.throws(() => grad(x, [x]), /loss must be a scalar/);
    assert.doesNotThrow(() => vjp([x], [g.input('c', 'float64', [2])], [x]));
  });
});

describe('composites agree with the primitives they were promoted to', () => {
  after(clearCompileCache);

  const x = random([3, 7], 5);
  const cases: [string, (v: Value, g: Graph) => [Value, Value]][] = [
    ['Softmax', (v) => [F.softmax(v, -1), F.softmaxComposite(v, -1)]],
    ['LogSoftmax', (v) => [F.logSoftmax(v, -1), F.logSoftmaxComposite(v, -1)]],
    [
      'LayerNormalization',
      (v, g) => {
        const scale = g.constant(random([7], 6));
        const bias = g.constant(random([7], 7));
        return [F.layerNormalization(v, scale, bias, 1e-6), F.layerNormComposite(v, scale, bias, 1e-6)];
      },
    ],
  ];
  for (const [name, build] of cases) {
    it(`${name}: forward and gradient`, async () => {
      const g = new Graph();
      const v = g.input('x', 'float64', [3, 7]);
      const [p, c] = build(v, g);
      const weights = g.constant(random([3, 7], 8));
      const [gp] = grad(F.sum(F.mul(p, weights)), [v]);
      const [gc] = grad(F.sum(F.mul(c, weights)), [v]);
      const out = await run({ p, c, gp: gp!, gc: gc! }, { x });
      assert.ok(maxAbsDiff(out['p']!.data, out['c']!.data) < 1e-13);
      assert.ok(maxAbsDiff(out['gp']!.data, out['gc']!.data) < 1e-13);
    });
  }

  it('exact GELU is 0.5·x·(1 + erf(x/√2))', async () => {
    const g = new Graph();
    const v = g.input('x', 'float32', [5]);
    const out = await (await compile({ y: F.gelu(v) })).run({
      x: hostTensor('float32', [5], Float32Array.from([-3, -1, 0, 0.5, 2])),
    });
    // values of the exact form (erf from a float64 library)
    const expected = [-0.0040496525, -0.15865525, 0, 0.34573123, 1.9544997];
    assert.ok(maxAbsDiff(out['y']!.data, expected) < 1e-6);
  });

  it('scaled dot-product attention equals softmax(q·kᵀ/√c + bias)·v written out', async () => {
    const g = new Graph();
    const [q, k, v] = ['q', 'k', 'v'].map((n) => g.input(n, 'float64', [2, 4, 3]));
    const bias = g.input('bias', 'float64', [2, 4, 4]);
    const y = F.scaledDotProductAttention(q!, k!, v!, { bias });
    const manual = F.matmul(
      F.softmax(F.add(F.div(F.matmul(q!, F.transpose(k!, [0, 2, 1])), Math.sqrt(3)), bias), -1),
      v!,
    );
    const feeds = {
      q: random([2, 4, 3], 9),
      k: random([2, 4, 3], 10),
      v: random([2, 4, 3], 11),
      bias: random([2, 4, 4], 12),
    };
    const out = await run({ y, manual }, feeds);
    assert.ok(maxAbsDiff(out['y']!.data, out['manual']!.data) < 1e-14);
  });

  it('dropout keeps elements whose noise ≥ p, scaled by 1/(1−p), and its VJP uses the same mask', async () => {
    const g = new Graph();
    const v = g.input('x', 'float64', [2, 5]);
    const noise = g.input('noise', 'float64', [2, 5]);
    const y = F.dropout(v, noise, 0.25);
    const feeds = {
      x: random([2, 5], 13),
      noise: float64([2, 5], [0.1, 0.3, 0.25, 0.9, 0.2, 0.5, 0.05, 0.7, 0.24, 1e-3]),
    };
    const out = await run({ y }, feeds);
    const expected = [...feeds.noise.data].map((n, i) => (n >= 0.25 ? feeds.x.data[i]! / 0.75 : 0));
    assert.ok(maxAbsDiff(out['y']!.data, expected) < 1e-15);
    const r = await checkVjp({
      graph: g,
      outputs: [y],
      wrt: [v],
      feeds,
      epsilon: 1e-6,
      rng: new Rng(14),
      compileOptions: { optimization: 'basic' },
    });
    assert.ok(r.relativeError < 1e-9);
  });
});

describe('ONNX export', () => {
  after(clearCompileCache);

  it('prunes nodes the outputs do not need and writes opset 17 with metadata', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    F.exp(x); // dead
    const y = F.neg(x);
    const exported = exportModel(g, { outputs: { y }, metadata: { config: '{"a":1}' } });
    const model = onnx.ModelProto.decode(exported.model);
    assert.deepEqual(
      model.graph!.node!.map((n) => n.opType),
      ['Neg'],
    );
    assert.equal(Number(model.opsetImport![0]!.version), 17);
    assert.deepEqual(
      model.metadataProps!.map((p) => [p.key, p.value]),
      [['config', '{"a":1}']],
    );
  });

  it('frozen parameters become initializers and trainable ones graph inputs', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 2]);
    const frozen = g.constant(
      hostTensor('float32', [2, 2], Float32Array.from([1, 2, 3, 4])),
      'blocks.0.weight',
    );
    const trainable = g.input('adapter.weight', 'float32', [2, 2]);
    const y = F.matmul(F.matmul(x, frozen), trainable);
    const model = onnx.ModelProto.decode(exportModel(g, { outputs: { y } }).model);
    assert.deepEqual(
      model.graph!.initializer!.map((t) => t.name),
      ['blocks.0.weight'],
    );
    assert.deepEqual(
      model.graph!.input!.map((t) => t.name),
      ['x', 'adapter.weight'],
    );
  });

  it('moves large initializers to external data that ORT loads', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [1, 512]);
    const w = hostTensor('float32', [512, 4]);
    w.data.forEach((_, i) => {
      w.data[i] = (i % 7) - 3;
    });
    const y = F.matmul(x, g.constant(w, 'w'));
    const exported = exportModel(g, { outputs: { y }, externalDataThreshold: 0 });
    assert.ok(exported.externalData);
    assert.equal(exported.externalData.byteLength, 512 * 4 * 4);
    const model = onnx.ModelProto.decode(exported.model);
    assert.equal(model.graph!.initializer![0]!.dataLocation, onnx.TensorProto.DataLocation.EXTERNAL);
    const session = await OrtSession.create(exported);
    const ones = hostTensor('float32', [1, 512], new Float32Array(512).fill(1));
    const out = await session.run({ x: ones });
    const expected = [0, 1, 2, 3].map((c) => {
      let s = 0;
      for (let r = 0; r < 512; r++) s += w.data[r * 4 + c]!;
      return s;
    });
    assert.deepEqual([...(out['y']!.data as Float32Array)], expected);
    await session.release();
  });

  it('outputs that are inputs, constants or repeated values are still named outputs', async () => {
    const g = new Graph();
    const x = g.input('x', 'float64', [2]);
    const c = g.constant(float64([2], [7, 8]), 'c');
    const y = F.neg(x);
    const out = await run({ a: x, b: c, y1: y, y2: y }, { x: float64([2], [1, 2]) });
    assert.deepEqual([...(out['a']!.data as Float64Array)], [1, 2]);
    assert.deepEqual([...(out['b']!.data as Float64Array)], [7, 8]);
    assert.deepEqual([...(out['y1']!.data as Float64Array)], [-1, -2]);
    assert.deepEqual([...(out['y2']!.data as Float64Array)], [-1, -2]);
  });
});

describe('runtime', () => {
  after(clearCompileCache);

  it('checks feed names, dtypes and shapes with one clear error', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 3]);
    const session = await compile({ y: F.neg(x) });
    await assert.rejects(
      session.run({}),
      (e: unknown) => e instanceof FeedError && /missing input 'x' \(float32\[2, 3\]\)/.test(e.message),
    );
    await assert.rejects(
      session.run({ x: hostTensor('float64', [2, 3]) }),
      /input 'x': dtype float64, expected float32/,
    );
    await assert.rejects(
      session.run({ x: hostTensor('float32', [3, 2]) }),
      /input 'x': shape \[3, 2\], expected \[2, 3\]/,
    );
    await assert.rejects(
      session.run({ x: hostTensor('float32', [2, 3]), z: hostTensor('float32', [1]) }),
      /unknown input 'z'/,
    );
    await assert.rejects(
      session.run({ x: hostTensor('float32', [2, 3]) }, ['nope']),
      /unknown output 'nope'/,
    );
  });

  it('caches compiled sessions by graph hash', async () => {
    const make = () => {
      const g = new Graph();
      return { y: F.exp(g.input('x', 'float32', [4])) };
    };
    const a = await compile(make());
    const b = await compile(make());
    assert.equal(a, b);
    const g = new Graph();
    const c = await compile({ y: F.log(g.input('x', 'float32', [4])) });
    assert.notEqual(a, c);
  });
});
