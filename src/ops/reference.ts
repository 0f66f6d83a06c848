// Naive float64 host kernels, one per primitive: the oracle that exported graphs are tested against. ONNX
// semantics for the attributes the shape rules accept; clarity over speed. Conv and Resize: reference_conv.ts.
import { isFloat } from '../core/dtype.js';
import { broadcastShapes, formatShape, numel, shapesEqual, stridesOf } from '../core/shape.js';
import type { CastAttrs } from './elementwise.js';
import type { OpDef } from './def.js';
import type { AxisAttrs, PadAttrs, ShapeAttrs, SliceAttrs, SplitAttrs, TransposeAttrs } from './movement.js';
import type { LayerNormAttrs } from './normalization.js';
import type { ReduceAttrs } from './reduce.js';
import {
  axisOf,
  broadcastStrides,
  convReference,
  convTransposeReference,
  input,
  offsetOf,
  resizeReference,
  unravel,
} from './reference_conv.js';
import type { PRIMITIVES, PrimitiveName } from './registry.js';

/** A host tensor for the oracle: row-major float64 data; bool and integer tensors hold their values as
 * numbers (bool as 0/1). */
export interface RefTensor {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

/** A reference kernel: the primitive's outputs for `inputs` and `attrs` (throws on inconsistent inputs). */
export type RefKernel<A> = (inputs: readonly RefTensor[], attrs: A) => RefTensor[];

/** The attribute type of primitive `K`. */
export type AttrsOf<K extends PrimitiveName> = (typeof PRIMITIVES)[K] extends OpDef<infer A> ? A : never;

/** A RefTensor of `shape` holding `values` (zeros when omitted); checks the element count. */
export function refTensor(shape: readonly number[], values?: ArrayLike<number>): RefTensor {
  const data = values ? Float64Array.from(values) : new Float64Array(numel(shape));
  if (data.length !== numel(shape))
    throw new Error(`refTensor: ${data.length} values for shape ${formatShape(shape)}`);
  return { shape: [...shape], data };
}

// --- erf ----------------------------------------------------------------------------------------------------

/** e^(−x²) without the rounding error of forming x² (Cody's split x = hi + lo, hi a multiple of 1/16). */
function expMinusSquare(x: number): number {
  const hi = Math.trunc(x * 16) / 16;
  return Math.exp(-hi * hi) * Math.exp(-(x - hi) * (x + hi));
}

/**
 * The error function to about 1e-15 absolute. |x| < 2.5: the all-positive series
 * erf x = 2/√π · e^(−x²) · Σ_n 2ⁿ x^(2n+1) / (1·3·…·(2n+1)) (no cancellation). |x| ≥ 2.5: the continued
 * fraction erfc x = e^(−x²)/√π · 1/(x + (1/2)/(x + (2/2)/(x + (3/2)/(x + …)))), 60 levels (converged to
 * ~3e-16 relative at 2.5). |x| ≥ 6: ±1 (erfc 6 ≈ 2e-17).
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  const sign = x < 0 ? -1 : 1;
  if (ax >= 6) return sign;
  if (ax < 2.5) {
    let term = ax;
    let sum = ax;
    for (let n = 1; term > sum * 1e-17; n++) {
      term *= (2 * ax * ax) / (2 * n + 1);
      sum += term;
    }
    return sign * (2 / Math.sqrt(Math.PI)) * expMinusSquare(ax) * sum;
  }
  let t = ax;
  for (let n = 60; n >= 1; n--) t = ax + n / 2 / t;
  return sign * (1 - expMinusSquare(ax) / Math.sqrt(Math.PI) / t);
}

// --- elementwise --------------------------------------------------------------------------------------------

/** out[i] = f(values of every input at i), all inputs broadcast together (numpy rules). */
function broadcastMap(inputs: readonly RefTensor[], f: (values: readonly number[]) => number): RefTensor {
  const ts = inputs.map((_, i) => input(inputs, i));
  const shape = broadcastShapes(...ts.map((t) => t.shape));
  if (!shape)
    throw new Error(
      `reference: shapes ${ts.map((t) => formatShape(t.shape)).join(' and ')} do not broadcast`,
    );
  const strides = ts.map((t) => broadcastStrides(t.shape, shape));
  const data = new Float64Array(numel(shape));
  const idx: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < data.length; i++) {
    unravel(i, shape, idx);
    for (let k = 0; k < ts.length; k++) values[k] = ts[k]!.data[offsetOf(idx, strides[k]!)]!;
    data[i] = f(values);
  }
  return { shape, data };
}

function unary(f: (x: number) => number): RefKernel<unknown> {
  return (inputs) => {
    const x = input(inputs, 0);
    return [{ shape: [...x.shape], data: x.data.map((v) => f(v)) }];
  };
}

function binary(f: (a: number, b: number) => number): RefKernel<unknown> {
  return (inputs) => {
    if (inputs.length !== 2) throw new Error(`reference: expected 2 inputs, got ${inputs.length}`);
    return [broadcastMap(inputs, ([a, b]) => f(a!, b!))];
  };
}

const bool = (c: boolean): number => (c ? 1 : 0);

/** Where(cond, x, y): x where cond ≠ 0, else y; all three broadcast. */
function where(inputs: readonly RefTensor[]): RefTensor[] {
  if (inputs.length !== 3) throw new Error(`reference: Where needs 3 inputs, got ${inputs.length}`);
  return [broadcastMap(inputs, ([c, x, y]) => (c !== 0 ? x! : y!))];
}

/** Cast: to a float type the value is kept, to bool x ≠ 0, to an integer type truncation toward zero. */
function cast(inputs: readonly RefTensor[], { to }: CastAttrs): RefTensor[] {
  const f = isFloat(to) ? (v: number) => v : to === 'bool' ? (v: number) => bool(v !== 0) : Math.trunc;
  return unary(f)(inputs, undefined);
}

// --- reductions ---------------------------------------------------------------------------------------------

function reduction(
  init: number,
  combine: (acc: number, v: number) => number,
  finish: (acc: number, count: number) => number = (acc) => acc,
): RefKernel<ReduceAttrs> {
  return (inputs, { axes, keepdims }) => {
    const x = input(inputs, 0);
    const r = x.shape.length;
    const reduced = axes.map((a) => axisOf(a, r));
    if (new Set(reduced).size !== reduced.length)
      throw new Error(`reference: repeated axes [${axes.join(', ')}]`);
    const kept = x.shape.map((d, i) => (reduced.includes(i) ? 1 : d));
    const toKept = broadcastStrides(kept, x.shape); // stride 0 on reduced axes
    const out = new Float64Array(numel(kept)).fill(init);
    const idx: number[] = [];
    for (let i = 0; i < x.data.length; i++) {
      const o = offsetOf(unravel(i, x.shape, idx), toKept);
      out[o] = combine(out[o]!, x.data[i]!);
    }
    const count = reduced.reduce((n, a) => n * x.shape[a]!, 1);
    const shape = keepdims ? kept : x.shape.filter((_, i) => !reduced.includes(i));
    return [{ shape, data: out.map((acc) => finish(acc, count)) }];
  };
}

// --- MatMul -------------------------------------------------------------------------------------------------

/** numpy matmul for rank ≥ 2: [..., m, k] @ [..., k, n], batch dims broadcast. */
function matmul(inputs: readonly RefTensor[]): RefTensor[] {
  const a = input(inputs, 0);
  const b = input(inputs, 1);
  if (a.shape.length < 2 || b.shape.length < 2) throw new Error('reference: MatMul needs rank ≥ 2');
  const [m, k] = a.shape.slice(-2) as [number, number];
  const [k2, n] = b.shape.slice(-2) as [number, number];
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batch = broadcastShapes(aBatch, bBatch);
  if (k !== k2 || !batch)
    throw new Error(`reference: MatMul ${formatShape(a.shape)} @ ${formatShape(b.shape)} do not fit`);
  const aStr = broadcastStrides(aBatch, batch);
  const bStr = broadcastStrides(bBatch, batch);
  const shape = [...batch, m, n];
  const y = new Float64Array(numel(shape));
  const idx: number[] = [];
  for (let t = 0; t < numel(batch); t++) {
    unravel(t, batch, idx);
    const aOff = offsetOf(idx, aStr) * m * k;
    const bOff = offsetOf(idx, bStr) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += a.data[aOff + i * k + p]! * b.data[bOff + p * n + j]!;
        y[(t * m + i) * n + j] = acc;
      }
    }
  }
  return [{ shape, data: y }];
}

// --- movement -----------------------------------------------------------------------------------------------

/** out[i] = x.data[source(index of i)] for every element of an output of `shape`. */
function gatherBy(
  x: RefTensor,
  shape: readonly number[],
  source: (idx: readonly number[]) => number,
): RefTensor {
  const data = new Float64Array(numel(shape));
  const idx: number[] = [];
  for (let i = 0; i < data.length; i++) data[i] = x.data[source(unravel(i, shape, idx))]!;
  return { shape: [...shape], data };
}

function reshape(inputs: readonly RefTensor[], { shape }: ShapeAttrs): RefTensor[] {
  const x = input(inputs, 0);
  if (numel(shape) !== x.data.length || shape.some((d) => !(d >= 0)))
    throw new Error(`reference: cannot reshape ${formatShape(x.shape)} to ${formatShape(shape)}`);
  return [{ shape: [...shape], data: Float64Array.from(x.data) }];
}

/** out[i0, …] = x[j] with j[perm[a]] = i[a]. */
function transpose(inputs: readonly RefTensor[], { perm }: TransposeAttrs): RefTensor[] {
  const x = input(inputs, 0);
  if (perm.length !== x.shape.length || [...perm].sort((p, q) => p - q).some((p, i) => p !== i))
    throw new Error(`reference: perm [${perm.join(', ')}] for ${formatShape(x.shape)}`);
  const xStr = stridesOf(x.shape);
  const permStr = perm.map((p) => xStr[p]!);
  return [
    gatherBy(
      x,
      perm.map((p) => x.shape[p]!),
      (idx) => offsetOf(idx, permStr),
    ),
  ];
}

function expand(inputs: readonly RefTensor[], { shape }: ShapeAttrs): RefTensor[] {
  const x = input(inputs, 0);
  const out = broadcastShapes(x.shape, shape);
  if (!out || !shapesEqual(out, shape))
    throw new Error(`reference: cannot expand ${formatShape(x.shape)} to ${formatShape(shape)}`);
  const strides = broadcastStrides(x.shape, shape);
  return [gatherBy(x, shape, (idx) => offsetOf(idx, strides))];
}

/** out[i] = x[start + i·step] per axis. */
function slice(inputs: readonly RefTensor[], { starts, ends, steps }: SliceAttrs): RefTensor[] {
  const x = input(inputs, 0);
  if (starts.length !== x.shape.length || ends.length !== x.shape.length || steps.length !== x.shape.length)
    throw new Error('reference: Slice needs starts/ends/steps per axis');
  const shape = x.shape.map((d, a) => {
    const [s, e, st] = [starts[a]!, ends[a]!, steps[a]!];
    if (!(0 <= s && s <= e && e <= d && st >= 1))
      throw new Error(`reference: bad slice ${s}:${e}:${st} on ${d}`);
    return Math.ceil((e - s) / st);
  });
  const xStr = stridesOf(x.shape);
  return [
    gatherBy(x, shape, (idx) => idx.reduce((off, i, a) => off + (starts[a]! + i * steps[a]!) * xStr[a]!, 0)),
  ];
}

/** Constant pad; out[i] = x[i − padBegin] where that is inside x, else `value`. */
function pad(inputs: readonly RefTensor[], { pads, value }: PadAttrs): RefTensor[] {
  const x = input(inputs, 0);
  const r = x.shape.length;
  if (pads.length !== 2 * r) throw new Error(`reference: pads [${pads.join(', ')}] for rank ${r}`);
  const shape = x.shape.map((d, a) => d + pads[a]! + pads[r + a]!);
  if (shape.some((d) => d < 0)) throw new Error(`reference: pads [${pads.join(', ')}] crop below zero`);
  const xStr = stridesOf(x.shape);
  const data = new Float64Array(numel(shape));
  const idx: number[] = [];
  for (let i = 0; i < data.length; i++) {
    unravel(i, shape, idx);
    let off = 0;
    let inside = true;
    for (let a = 0; a < r && inside; a++) {
      const j = idx[a]! - pads[a]!;
      inside = j >= 0 && j < x.shape[a]!;
      off += j * xStr[a]!;
    }
    data[i] = inside ? x.data[off]! : value;
  }
  return [{ shape, data }];
}

/** Views a shape around `axis` as [outer, dim, inner]. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  return [numel(shape.slice(0, axis)), shape[axis]!, numel(shape.slice(axis + 1))];
}

function concat(inputs: readonly RefTensor[], attrs: AxisAttrs): RefTensor[] {
  const ts = inputs.map((_, i) => input(inputs, i));
  const first = ts[0];
  if (!first) throw new Error('reference: Concat needs an input');
  const axis = axisOf(attrs.axis, first.shape.length);
  for (const t of ts) {
    if (t.shape.length !== first.shape.length || t.shape.some((d, a) => a !== axis && d !== first.shape[a]))
      throw new Error(`reference: Concat shapes ${ts.map((u) => formatShape(u.shape)).join(', ')}`);
  }
  const total = ts.reduce((n, t) => n + t.shape[axis]!, 0);
  const shape = first.shape.map((d, a) => (a === axis ? total : d));
  const [outer, , inner] = around(shape, axis);
  const data = new Float64Array(numel(shape));
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const t of ts) {
      const chunk = t.shape[axis]! * inner;
      data.set(t.data.subarray(o * chunk, (o + 1) * chunk), at);
      at += chunk;
    }
  }
  return [{ shape, data }];
}

function split(inputs: readonly RefTensor[], attrs: SplitAttrs): RefTensor[] {
  const x = input(inputs, 0);
  const axis = axisOf(attrs.axis, x.shape.length);
  const [outer, len, inner] = around(x.shape, axis);
  if (attrs.sizes.reduce((a, b) => a + b, 0) !== len)
    throw new Error(`reference: split sizes [${attrs.sizes.join(', ')}] on axis of ${len}`);
  let begin = 0;
  return attrs.sizes.map((size) => {
    const shape = x.shape.map((d, a) => (a === axis ? size : d));
    const data = new Float64Array(numel(shape));
    for (let o = 0; o < outer; o++) {
      const from = (o * len + begin) * inner;
      data.set(x.data.subarray(from, from + size * inner), o * size * inner);
    }
    begin += size;
    return { shape, data };
  });
}

/** ONNX Gather: out[pre, j…, post] = data[pre, indices[j…], post]; negative indices count from the end. */
function gather(inputs: readonly RefTensor[], attrs: AxisAttrs): RefTensor[] {
  const x = input(inputs, 0);
  const indices = input(inputs, 1);
  const axis = axisOf(attrs.axis, x.shape.length);
  const [outer, len, inner] = around(x.shape, axis);
  const n = indices.data.length;
  const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const data = new Float64Array(numel(shape));
  for (let j = 0; j < n; j++) {
    const raw = indices.data[j]!;
    const at = raw < 0 ? raw + len : raw;
    if (!Number.isInteger(raw) || at < 0 || at >= len)
      throw new Error(`reference: Gather index ${raw} out of range for axis of ${len}`);
    for (let o = 0; o < outer; o++) {
      const from = (o * len + at) * inner;
      data.set(x.data.subarray(from, from + inner), (o * n + j) * inner);
    }
  }
  return [{ shape, data }];
}

// --- Softmax, LogSoftmax, LayerNormalization ---------------------------------------------------------------

/** Applies `f` to every 1-D lane of x along `axis` (lane values in, lane results out). */
function mapLanes(x: RefTensor, axis: number, f: (lane: Float64Array) => Float64Array): RefTensor {
  const [outer, len, inner] = around(x.shape, axis);
  const data = new Float64Array(x.data.length);
  const lane = new Float64Array(len);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < inner; r++) {
      for (let j = 0; j < len; j++) lane[j] = x.data[(o * len + j) * inner + r]!;
      const out = f(lane);
      for (let j = 0; j < len; j++) data[(o * len + j) * inner + r] = out[j]!;
    }
  }
  return { shape: [...x.shape], data };
}

/** Stable log Σ exp over a lane: max + log Σ exp(v − max). */
function logSumExp(lane: Float64Array): number {
  const max = lane.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
  return max + Math.log(lane.reduce((s, v) => s + Math.exp(v - max), 0));
}

function softmax(inputs: readonly RefTensor[], attrs: AxisAttrs): RefTensor[] {
  const x = input(inputs, 0);
  return [
    mapLanes(x, axisOf(attrs.axis, x.shape.length), (lane) => {
      const max = lane.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
      const e = lane.map((v) => Math.exp(v - max));
      const sum = e.reduce((s, v) => s + v, 0);
      return e.map((v) => v / sum);
    }),
  ];
}

function logSoftmax(inputs: readonly RefTensor[], attrs: AxisAttrs): RefTensor[] {
  const x = input(inputs, 0);
  return [
    mapLanes(x, axisOf(attrs.axis, x.shape.length), (lane) => {
      const lse = logSumExp(lane);
      return lane.map((v) => v - lse);
    }),
  ];
}

/** (x − μ)/√(σ² + ε)·scale + bias over the trailing axes [axis, rank); biased σ²; scale/bias optional. */
function layerNormalization(inputs: readonly RefTensor[], attrs: LayerNormAttrs): RefTensor[] {
  const x = input(inputs, 0);
  const axis = axisOf(attrs.axis, x.shape.length);
  const tail = x.shape.slice(axis);
  const size = numel(tail);
  const params = [1, 2].map((i) => (inputs[i] ? input(inputs, i) : undefined));
  for (const p of params) {
    if (p && !shapesEqual(p.shape, tail))
      throw new Error(
        `reference: LayerNormalization scale/bias ${formatShape(p.shape)} for ${formatShape(tail)}`,
      );
  }
  const [scale, bias] = params;
  const data = new Float64Array(x.data.length);
  for (let row = 0; row < x.data.length / size; row++) {
    const v = x.data.subarray(row * size, (row + 1) * size);
    const mean = v.reduce((s, a) => s + a, 0) / size;
    const variance = v.reduce((s, a) => s + (a - mean) * (a - mean), 0) / size;
    const rstd = 1 / Math.sqrt(variance + attrs.epsilon);
    for (let j = 0; j < size; j++)
      data[row * size + j] =
        (v[j]! - mean) * rstd * (scale ? scale.data[j]! : 1) + (bias ? bias.data[j]! : 0);
  }
  return [{ shape: [...x.shape], data }];
}

// --- the table ----------------------------------------------------------------------------------------------

/** One float64 reference kernel per primitive (a missing one does not compile). */
export const REFERENCE: { readonly [K in PrimitiveName]: RefKernel<AttrsOf<K>> } = {
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary((a, b) => a / b),
  Neg: unary((x) => -x),
  Exp: unary(Math.exp),
  Log: unary(Math.log),
  Sqrt: unary(Math.sqrt),
  Pow: binary(Math.pow),
  Erf: unary(erf),
  Sin: unary(Math.sin),
  Cos: unary(Math.cos),
  Tanh: unary(Math.tanh),
  Sigmoid: unary((x) => 1 / (1 + Math.exp(-x))),
  Relu: unary((x) => Math.max(x, 0)),
  Max: binary(Math.max),
  Min: binary(Math.min),
  Where: where,
  Cast: cast,
  Equal: binary((a, b) => bool(a === b)),
  Less: binary((a, b) => bool(a < b)),
  Greater: binary((a, b) => bool(a > b)),
  Identity: unary((x) => x),
  ReduceSum: reduction(0, (acc, v) => acc + v),
  ReduceMean: reduction(
    0,
    (acc, v) => acc + v,
    (acc, count) => acc / count,
  ),
  ReduceMax: reduction(Number.NEGATIVE_INFINITY, Math.max),
  MatMul: matmul,
  Reshape: reshape,
  Transpose: transpose,
  Expand: expand,
  Slice: slice,
  Pad: pad,
  Concat: concat,
  Split: split,
  Gather: gather,
  Conv: convReference,
  ConvTranspose: convTransposeReference,
  Resize: resizeReference,
  Softmax: softmax,
  LogSoftmax: logSoftmax,
  LayerNormalization: layerNormalization,
};
