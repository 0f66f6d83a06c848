// The user-facing ops API: PyTorch-like functions that bind primitives. Numbers are accepted wherever a
// tensor is, and become scalar constants of the other operand's dtype.
import type { DType, TypedArrayOf } from '../core/dtype.js';
import { allocate } from '../core/dtype.js';
import { MasamError } from '../core/errors.js';
import { type HostTensor, hostTensor } from '../core/host_tensor.js';
import { normalizeAxis } from '../core/shape.js';
import type { Value } from '../graph/index.js';
import { bind, bind1 } from './bind.js';
import { Conv, type ConvAttrs, ConvTranspose, type ConvTransposeAttrs } from './conv.js';
import * as E from './elementwise.js';
import { MatMul } from './matmul.js';
import { Concat, Expand, Gather, Pad, Reshape, Slice, Split, Transpose } from './movement.js';
import { LayerNormalization, LogSoftmax, Softmax } from './normalization.js';
import { ReduceMax, ReduceMean, ReduceSum } from './reduce.js';
import { Resize, type ResizeAttrs } from './resize.js';

export type Operand = Value | number;
const NONE = {} as E.NoAttrs;

// --- constants -------------------------------------------------------------------------------------------

/** A constant in the graph of `like`. */
export function constant(tensor: HostTensor, like: Value, name?: string): Value {
  return like.graph.constant(tensor, name);
}

/** A scalar constant of `dtype` in the graph of `like`. */
export function scalar(value: number, like: Value, dtype: DType = like.dtype): Value {
  const data = allocate(dtype, 1);
  if (data instanceof BigInt64Array) data[0] = BigInt(value);
  else data[0] = value;
  return like.graph.constant(hostTensor(dtype, [], data as TypedArrayOf[typeof dtype]));
}

/** 0, 1, …, n−1 as a 1-D constant. */
export function arange(n: number, dtype: 'int64' | 'int32' | 'float32' | 'float64', like: Value): Value {
  const data = allocate(dtype, n);
  for (let i = 0; i < n; i++) {
    if (data instanceof BigInt64Array) data[i] = BigInt(i);
    else data[i] = i;
  }
  return like.graph.constant(hostTensor(dtype, [n], data as TypedArrayOf[typeof dtype]));
}

export function zerosLike(x: Value): Value {
  return expand(scalar(0, x), x.shape);
}

export function onesLike(x: Value): Value {
  return expand(scalar(1, x), x.shape);
}

function lift(a: Operand, b: Operand): [Value, Value] {
  if (typeof a === 'number' && typeof b === 'number')
    throw new MasamError('at least one operand must be a Value');
  const av = typeof a === 'number' ? scalar(a, b as Value) : a;
  const bv = typeof b === 'number' ? scalar(b, a as Value) : b;
  return [av, bv];
}

// --- elementwise -----------------------------------------------------------------------------------------

export const add = (a: Operand, b: Operand): Value => bind1(E.Add, lift(a, b), NONE);
export const sub = (a: Operand, b: Operand): Value => bind1(E.Sub, lift(a, b), NONE);
export const mul = (a: Operand, b: Operand): Value => bind1(E.Mul, lift(a, b), NONE);
export const div = (a: Operand, b: Operand): Value => bind1(E.Div, lift(a, b), NONE);
export const pow = (a: Operand, b: Operand): Value => bind1(E.Pow, lift(a, b), NONE);
export const maximum = (a: Operand, b: Operand): Value => bind1(E.Max, lift(a, b), NONE);
export const minimum = (a: Operand, b: Operand): Value => bind1(E.Min, lift(a, b), NONE);
export const equal = (a: Operand, b: Operand): Value => bind1(E.Equal, lift(a, b), NONE);
export const less = (a: Operand, b: Operand): Value => bind1(E.Less, lift(a, b), NONE);
export const greater = (a: Operand, b: Operand): Value => bind1(E.Greater, lift(a, b), NONE);
export const neg = (x: Value): Value => bind1(E.Neg, [x], NONE);
export const exp = (x: Value): Value => bind1(E.Exp, [x], NONE);
export const log = (x: Value): Value => bind1(E.Log, [x], NONE);
export const sqrt = (x: Value): Value => bind1(E.Sqrt, [x], NONE);
export const erf = (x: Value): Value => bind1(E.Erf, [x], NONE);
export const tanh = (x: Value): Value => bind1(E.Tanh, [x], NONE);
export const sin = (x: Value): Value => bind1(E.Sin, [x], NONE);
export const cos = (x: Value): Value => bind1(E.Cos, [x], NONE);
export const sigmoid = (x: Value): Value => bind1(E.Sigmoid, [x], NONE);
export const relu = (x: Value): Value => bind1(E.Relu, [x], NONE);
export const cast = (x: Value, to: DType): Value => (x.dtype === to ? x : bind1(E.Cast, [x], { to }));
export const identity = (x: Value): Value => bind1(E.Identity, [x], { stopGradient: false });
/** The value itself, with no gradient flowing back through it. */
export const stopGradient = (x: Value): Value => bind1(E.Identity, [x], { stopGradient: true });

export function where(cond: Value, a: Operand, b: Operand): Value {
  const [av, bv] = lift(a, b);
  return bind1(E.Where, [cond, av, bv], NONE);
}

// --- reductions ------------------------------------------------------------------------------------------

function normAxes(x: Value, axes: readonly number[] | undefined): number[] {
  const list = axes ?? x.shape.map((_, i) => i);
  const out = [...new Set(list.map((a) => normalizeAxis(a, x.rank)))].sort((a, b) => a - b);
  if (out.includes(-1)) throw new MasamError(`axes [${list.join(', ')}] out of range for ${x}`);
  return out;
}

/** Sum over `axes` (all when omitted). */
export function sum(x: Value, axes?: readonly number[], keepdims = false): Value {
  if (x.rank === 0) return x;
  return bind1(ReduceSum, [x], { axes: normAxes(x, axes), keepdims });
}

export function mean(x: Value, axes?: readonly number[], keepdims = false): Value {
  if (x.rank === 0) return x;
  return bind1(ReduceMean, [x], { axes: normAxes(x, axes), keepdims });
}

export function max(x: Value, axes?: readonly number[], keepdims = false): Value {
  if (x.rank === 0) return x;
  return bind1(ReduceMax, [x], { axes: normAxes(x, axes), keepdims });
}

// --- linear algebra and movement -------------------------------------------------------------------------

export const matmul = (a: Value, b: Value): Value => bind1(MatMul, [a, b], NONE);

/** Reshape; one -1 entry is inferred. */
export function reshape(x: Value, shape: readonly number[]): Value {
  const known = shape.reduce((n, d) => (d === -1 ? n : n * d), 1);
  const total = x.shape.reduce((n, d) => n * d, 1);
  const resolved = shape.map((d) => (d === -1 ? total / known : d));
  if (resolved.length === x.rank && resolved.every((d, i) => d === x.shape[i])) return x;
  return bind1(Reshape, [x], { shape: resolved });
}

export function transpose(x: Value, perm: readonly number[]): Value {
  if (perm.every((p, i) => p === i) && perm.length === x.rank) return x;
  return bind1(Transpose, [x], { perm: perm.map((p) => normalizeAxis(p, x.rank)) });
}

export function expand(x: Value, shape: readonly number[]): Value {
  if (shape.length === x.rank && shape.every((d, i) => d === x.shape[i])) return x;
  return bind1(Expand, [x], { shape });
}

/** Slice every axis (numpy-style: negative indices count from the end, ends clamp, step ≥ 1). */
export function slice(
  x: Value,
  starts: readonly number[],
  ends: readonly number[],
  steps?: readonly number[],
): Value {
  const norm = (v: number, d: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
  const s = x.shape.map((d, i) => norm(starts[i] ?? 0, d));
  const e = x.shape.map((d, i) => Math.max(norm(ends[i] ?? d, d), s[i]!));
  const st = x.shape.map((_, i) => steps?.[i] ?? 1);
  if (st.every((v) => v === 1) && s.every((v) => v === 0) && e.every((v, i) => v === x.shape[i])) return x;
  return bind1(Slice, [x], { starts: s, ends: e, steps: st });
}

/** Slice one axis. */
export function sliceAxis(x: Value, axis: number, start: number, end: number, step = 1): Value {
  const a = normalizeAxis(axis, x.rank);
  const starts = x.shape.map((_, i) => (i === a ? start : 0));
  const ends = x.shape.map((d, i) => (i === a ? end : d));
  const steps = x.shape.map((_, i) => (i === a ? step : 1));
  return slice(x, starts, ends, steps);
}

/** Constant padding; `pads` in ONNX order (all begins, then all ends). */
export function pad(x: Value, pads: readonly number[], value = 0): Value {
  if (pads.every((p) => p === 0)) return x;
  return bind1(Pad, [x], { pads, value });
}

export function concat(xs: readonly Value[], axis: number): Value {
  if (xs.length === 1) return xs[0]!;
  return bind1(Concat, xs, { axis: normalizeAxis(axis, xs[0]!.rank) });
}

export function split(x: Value, sizes: readonly number[], axis: number): Value[] {
  return bind(Split, [x], { axis: normalizeAxis(axis, x.rank), sizes });
}

export function gather(x: Value, indices: Value, axis: number): Value {
  return bind1(Gather, [x, indices], { axis: normalizeAxis(axis, x.rank) });
}

// --- convolution, resize, normalisation ------------------------------------------------------------------

export interface ConvOptions {
  strides?: readonly number[];
  pads?: readonly number[];
  dilations?: readonly number[];
  group?: number;
}

function convDefaults(x: Value, o: ConvOptions): ConvAttrs {
  const nsp = x.rank - 2;
  const ones = new Array<number>(nsp).fill(1);
  return {
    strides: o.strides ?? ones,
    pads: o.pads ?? new Array<number>(2 * nsp).fill(0),
    dilations: o.dilations ?? ones,
    group: o.group ?? 1,
  };
}

/** Conv over [N, C, spatial…] with weight [M, C/group, k…] and optional bias [M]. */
export function conv(x: Value, w: Value, bias: Value | null, options: ConvOptions = {}): Value {
  return bind1(Conv, bias ? [x, w, bias] : [x, w], convDefaults(x, options));
}

/** Transposed conv with weight [C, M/group, k…]. */
export function convTranspose(
  x: Value,
  w: Value,
  bias: Value | null,
  options: ConvOptions & { outputPadding?: readonly number[] } = {},
): Value {
  const attrs: ConvTransposeAttrs = {
    ...convDefaults(x, options),
    outputPadding: options.outputPadding ?? new Array<number>(x.rank - 2).fill(0),
  };
  return bind1(ConvTranspose, bias ? [x, w, bias] : [x, w], attrs);
}

/** Resize to the full output shape `sizes` (PyTorch align_corners=False bilinear, or nearest). */
export function resize(x: Value, sizes: readonly number[], mode: ResizeAttrs['mode']): Value {
  if (sizes.every((d, i) => d === x.shape[i])) return x;
  return bind1(Resize, [x], { mode, sizes });
}

export const softmax = (x: Value, axis = -1): Value =>
  bind1(Softmax, [x], { axis: normalizeAxis(axis, x.rank) });
export const logSoftmax = (x: Value, axis = -1): Value =>
  bind1(LogSoftmax, [x], { axis: normalizeAxis(axis, x.rank) });

/** ONNX LayerNormalization over the axes from `axis` on (last axis by default). */
export function layerNormalization(x: Value, scale: Value, bias: Value, epsilon: number, axis = -1): Value {
  return bind1(LayerNormalization, [x, scale, bias], { axis: normalizeAxis(axis, x.rank), epsilon });
}
