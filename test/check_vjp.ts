// Random-direction finite-difference check of a traced function's VJP (JAX's check_vjp): for random u and
// cotangent c, ⟨c, (f(x+εu) − f(x−εu)) / 2ε⟩ must match Σᵢ⟨vjpᵢ(c), uᵢ⟩. Runs through ORT like real use.
import { vjp } from '../src/autodiff/index.js';
import { type DType, type HostTensor, type Rng, hostTensor, numel } from '../src/core/index.js';
import type { Graph, Value } from '../src/graph/index.js';
import { type CompileOptions, compile } from '../src/runtime/index.js';

export interface VjpCheckResult {
  /** ⟨c, J u⟩ from central finite differences. */
  readonly numeric: number;
  /** Σ⟨vjp(c), u⟩ from the autodiff graph. */
  readonly analytic: number;
  readonly relativeError: number;
}

function randomLike(spec: { dtype: DType; shape: readonly number[] }, rng: Rng): HostTensor {
  const t = hostTensor(spec.dtype, spec.shape);
  const data = t.data as Float32Array | Float64Array;
  for (let i = 0; i < data.length; i++) data[i] = rng.range(-1, 1);
  return t;
}

function dot(a: HostTensor, b: HostTensor): number {
  const x = a.data as Float32Array | Float64Array;
  const y = b.data as Float32Array | Float64Array;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

/**
 * Checks the VJP of `outputs` (float values of `graph`) with respect to the graph inputs `wrt`, at the
 * point `feeds` (which feeds every graph input the outputs need).
 */
export async function checkVjp(options: {
  graph: Graph;
  outputs: readonly Value[];
  wrt: readonly Value[];
  feeds: Readonly<Record<string, HostTensor>>;
  epsilon: number;
  rng: Rng;
  compileOptions?: CompileOptions;
}): Promise<VjpCheckResult> {
  const { graph, outputs, wrt, feeds, epsilon, rng, compileOptions } = options;
  const inputName = (v: Value) => (v.source as { name: string }).name;
  const cotangentInputs = outputs.map((y, i) =>
    graph.input(`cotangent_${i}_${graph.inputs.length}`, y.dtype, y.shape),
  );
  const grads = vjp(outputs, cotangentInputs, wrt);

  const fetches: Record<string, Value> = {};
  outputs.forEach((y, i) => {
    fetches[`y${i}`] = y;
  });
  const forward = await compile(fetches, compileOptions);
  const gradFetches: Record<string, Value> = {};
  grads.forEach((g, i) => {
    if (g) gradFetches[`g${i}`] = g;
  });

  const cotangents = outputs.map((y) => randomLike(y, rng));
  const directions = wrt.map((x) => randomLike(x, rng));

  let analytic = 0;
  if (Object.keys(gradFetches).length > 0) {
    const backward = await compile(gradFetches, compileOptions);
    const backFeeds: Record<string, HostTensor> = {};
    for (const spec of backward.inputs) {
      const ci = cotangentInputs.findIndex((c) => inputName(c) === spec.name);
      backFeeds[spec.name] = ci >= 0 ? cotangents[ci]! : feeds[spec.name]!;
    }
    const g = await backward.run(backFeeds);
    grads.forEach((_, i) => {
      const gi = g[`g${i}`];
      if (gi) analytic += dot(gi, directions[i]!);
    });
  }

  const evaluate = async (sign: number): Promise<number> => {
    const shifted: Record<string, HostTensor> = {};
    for (const spec of forward.inputs) shifted[spec.name] = feeds[spec.name]!;
    wrt.forEach((x, i) => {
      const base = feeds[inputName(x)]!;
      const moved = hostTensor(base.dtype, base.shape);
      const [out, from, dir] = [moved.data, base.data, directions[i]!.data] as Float64Array[];
      for (let j = 0; j < out!.length; j++) out![j] = from![j]! + sign * epsilon * dir![j]!;
      shifted[inputName(x)] = moved;
    });
    const y = await forward.run(shifted);
    return outputs.reduce((s, _, i) => s + dot(y[`y${i}`]!, cotangents[i]!), 0);
  };
  const numeric = ((await evaluate(1)) - (await evaluate(-1))) / (2 * epsilon);
  const scale = Math.max(Math.abs(numeric), Math.abs(analytic), 1e-3 * totalSize(wrt));
  return { numeric, analytic, relativeError: Math.abs(numeric - analytic) / scale };
}

function totalSize(values: readonly Value[]): number {
  return Math.sqrt(values.reduce((n, v) => n + numel(v.shape), 0));
}
