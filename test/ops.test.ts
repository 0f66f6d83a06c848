// Every primitive in the spec table: (1) the shape rule equals ORT's output shape, (2) ORT's forward pass
// matches the float64 reference kernel, (3) the VJP passes a random-direction finite-difference check, or, for
// entries declared non-differentiable, the reverse sweep gives no input a gradient.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { vjp } from '../src/autodiff/index.js';
import { type DType, type HostTensor, Rng, hostTensor, isFloat, toFloat64 } from '../src/core/index.js';
import { Graph, type Value } from '../src/graph/index.js';
import { PRIMITIVES } from '../src/ops/index.js';
import { REFERENCE, type RefTensor } from '../src/ops/reference.js';
import { clearCompileCache, compile } from '../src/runtime/index.js';
import { checkVjp } from './check_vjp.js';
import { type Domain, OP_SPECS, type OpSpec } from './op_specs.js';

/** Forward tolerance, max|ort − ref| / max|ref|: float64 kernels agree to rounding; float32 ones to ~1e-6. */
const FORWARD_TOL = { float64: 1e-12, float32: 1e-5 };
/** VJP tolerance and step: central differences in float64 are accurate to ~1e-9; float32 needs a large
 * step (rounding noise / ε) and so a looser bound. */
const VJP = { float64: { epsilon: 1e-6, tol: 1e-6 }, float32: { epsilon: 1e-2, tol: 1e-2 } };
/** ORT's extended optimisations fuse Transpose+MatMul into FusedMatMul, which has no float64 kernel
 * (onnxruntime-node 1.23.2): float64 graphs run with basic optimisations. */
const COMPILE = { float64: { optimization: 'basic' }, float32: {} } as const;

function draw(domain: Domain, n: number, rng: Rng): number[] {
  return Array.from({ length: n }, () => {
    if (domain === 'bool') return rng.uniform() < 0.5 ? 1 : 0;
    if (typeof domain === 'object') return domain.int[0] + rng.int(domain.int[1] - domain.int[0]);
    if (domain === 'positive') return rng.range(0.5, 2);
    if (domain === 'awayFromZero') return (rng.uniform() < 0.5 ? -1 : 1) * rng.range(0.2, 1);
    if (domain === 'unit') return rng.uniform();
    return rng.range(-1, 1);
  });
}

function dtypeOf(domain: Domain, floatType: DType): DType {
  if (domain === 'bool') return 'bool';
  if (typeof domain === 'object') return 'int64';
  return floatType;
}

function makeTensor(dtype: DType, shape: readonly number[], values: number[]): HostTensor {
  const t = hostTensor(dtype, shape);
  values.forEach((v, i) => {
    if (t.data instanceof BigInt64Array) t.data[i] = BigInt(v);
    else t.data[i] = v;
  });
  return t;
}

const toRef = (t: HostTensor): RefTensor => ({ shape: t.shape, data: toFloat64(t) });

interface Traced {
  graph: Graph;
  inputs: Value[];
  outputs: Value[];
  feeds: Record<string, HostTensor>;
}

function trace(spec: OpSpec, rng: Rng): Traced {
  const graph = new Graph();
  const floatType = spec.dtype ?? 'float64';
  const feeds: Record<string, HostTensor> = {};
  const inputs = spec.inputs.map((inp, i) => {
    const domain = inp.domain ?? 'any';
    const dtype = dtypeOf(domain, floatType);
    const name = `x${i}`;
    feeds[name] = makeTensor(
      dtype,
      inp.shape,
      draw(
        domain,
        inp.shape.reduce((a, b) => a * b, 1),
        rng,
      ),
    );
    return graph.input(name, dtype, inp.shape);
  });
  const built = spec.build(inputs);
  const outputs = Array.isArray(built) ? [...built] : [built as Value];
  return { graph, inputs, outputs, feeds };
}

function maxRelError(actual: Float64Array, expected: Float64Array): number {
  let maxRef = 0;
  let maxErr = 0;
  for (let i = 0; i < expected.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(expected[i]!));
    maxErr = Math.max(maxErr, Math.abs(actual[i]! - expected[i]!));
  }
  return maxErr / Math.max(maxRef, 1e-30);
}

describe('primitive spec table', () => {
  after(clearCompileCache);

  it('covers every primitive in the registry', () => {
    const covered = new Set(OP_SPECS.map((s) => s.primitive));
    const missing = Object.keys(PRIMITIVES).filter((p) => !covered.has(p as OpSpec['primitive']));
    assert.deepEqual(missing, []);
  });

  OP_SPECS.forEach((spec, index) => {
    describe(spec.name, () => {
      const floatType = spec.dtype ?? 'float64';

      it('applies exactly one node of its primitive to inputs and constants', () => {
        const { outputs } = trace(spec, new Rng(index));
        const node = outputs[0]!.node!;
        assert.equal(node.op, spec.primitive);
        assert.ok(outputs.every((y) => y.node === node));
        assert.ok(node.inputs.every((x) => x.source.kind !== 'node'));
      });

      it('has ORT output shapes equal to its shape rule and matches the float64 reference', async () => {
        const { graph, outputs, feeds } = trace(spec, new Rng(index));
        const node = outputs[0]!.node!;
        const fetch: Record<string, Value> = {};
        outputs.forEach((y, i) => {
          fetch[`y${i}`] = y;
        });
        const session = await compile(fetch, COMPILE[floatType]);
        const result = await session.run(
          Object.fromEntries(session.inputs.map((s) => [s.name, feeds[s.name]!])),
        );
        const refInputs = node.inputs.map((x) =>
          toRef(x.source.kind === 'input' ? feeds[x.source.name]! : graph.constantData(x)!),
        );
        const reference = REFERENCE[spec.primitive](refInputs, node.attrs as never);
        outputs.forEach((y, i) => {
          const got = result[`y${i}`]!;
          assert.deepEqual([...got.shape], [...y.shape], 'ORT shape vs shape rule');
          assert.deepEqual([...reference[i]!.shape], [...y.shape], 'reference shape vs shape rule');
          const tol = isFloat(got.dtype) ? FORWARD_TOL[got.dtype] : 0;
          const err = maxRelError(toFloat64(got), reference[i]!.data);
          assert.ok(err <= tol, `output ${i}: max relative error ${err.toExponential(2)} > ${tol}`);
        });
      });

      // The table declares which entries are differentiable; a primitive whose rule says otherwise fails below.
      const differentiable = !spec.noVjp;
      it(
        differentiable ? 'passes the finite-difference VJP check' : 'gives no gradient to any input',
        async () => {
          if (!differentiable) {
            const { graph, inputs, outputs } = trace(spec, new Rng(index));
            const cotangents = outputs.map((y, i) => graph.input(`cotangent_${i}`, y.dtype, y.shape));
            const grads = vjp(outputs, cotangents, inputs);
            assert.deepEqual(
              grads.map((g) => g && `${g}`),
              inputs.map(() => null),
            );
            return;
          }
          const rng = new Rng(1000 + index);
          const { graph, inputs, outputs, feeds } = trace(spec, rng);
          const wrt = inputs.filter((_, i) => !spec.inputs[i]!.noGrad);
          const { epsilon, tol } = spec.vjpCheck ?? VJP[floatType];
          const r = await checkVjp({
            graph,
            outputs,
            wrt,
            feeds,
            epsilon,
            rng,
            compileOptions: COMPILE[floatType],
          });
          assert.ok(
            r.relativeError <= tol,
            `numeric ${r.numeric} vs analytic ${r.analytic}: relative error ${r.relativeError.toExponential(2)} > ${tol}`,
          );
        },
      );
    });
  });
});
