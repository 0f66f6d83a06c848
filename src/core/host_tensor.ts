// HostTensor: the plain array passed between io/, data/, metrics/ and runtime/ (no graph involved).
import { type DType, type TypedArrayOf, allocate } from './dtype.js';
import { MasamError } from './errors.js';
import { type Shape, formatShape, numel } from './shape.js';

export interface HostTensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: Shape;
  readonly data: TypedArrayOf[D];
}

/** Wraps `data` as a tensor of `shape`, checking that the element count matches. */
export function hostTensor<D extends DType>(dtype: D, shape: Shape, data?: TypedArrayOf[D]): HostTensor<D> {
  const n = numel(shape);
  const buf = data ?? allocate(dtype, n);
  if (buf.length !== n) {
    throw new MasamError(`hostTensor: ${buf.length} elements do not fill shape ${formatShape(shape)} (${n})`);
  }
  return { dtype, shape: [...shape], data: buf };
}

/** float32 tensor from plain numbers. */
export function float32(shape: Shape, values: ArrayLike<number>): HostTensor<'float32'> {
  return hostTensor('float32', shape, Float32Array.from(values));
}

/** float64 tensor from plain numbers. */
export function float64(shape: Shape, values: ArrayLike<number>): HostTensor<'float64'> {
  return hostTensor('float64', shape, Float64Array.from(values));
}

/** Elements of a numeric tensor as float64 (int64 converted through Number). */
export function toFloat64(t: HostTensor): Float64Array {
  if (t.data instanceof BigInt64Array) return Float64Array.from(t.data, (v) => Number(v));
  return Float64Array.from(t.data as ArrayLike<number>);
}

/** `t` cut into `parts` equal runs along its first axis, as views of its data (micro-batches of stacks). */
export function splitFirstAxis<D extends DType>(t: HostTensor<D>, parts: number): HostTensor<D>[] {
  const rows = t.shape[0] ?? 0;
  if (!Number.isInteger(parts) || parts < 1 || rows % parts !== 0)
    throw new MasamError(`splitFirstAxis: ${rows} rows do not split into ${parts} equal parts`);
  const size = t.data.length / parts;
  const shape = [rows / parts, ...t.shape.slice(1)];
  return Array.from({ length: parts }, (_, j) =>
    hostTensor(t.dtype, shape, t.data.subarray(j * size, (j + 1) * size) as TypedArrayOf[D]),
  );
}
