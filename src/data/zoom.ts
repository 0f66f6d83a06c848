// SciPy `ndimage.zoom` as the preprocessing scripts use it (masam-spec.md 8.5): corner-aligned sampling,
// order 0 (nearest), 1 (linear) or 3 (cubic B-spline with mirror-boundary prefilter), output size
// round(n·factor), integer outputs rounded and clipped. Checked against recorded SciPy values (testdata/).
import { type DType, type TypedArray, type TypedArrayOf, allocate } from '../core/dtype.js';
import { MasamError } from '../core/errors.js';
import { type HostTensor, toFloat64 } from '../core/host_tensor.js';
import { formatShape, numel } from '../core/shape.js';
import type { Affine, Volume } from '../io/volume.js';

/** Spline order: 0 nearest (labels), 1 linear, 3 cubic B-spline (images). */
export type ZoomOrder = 0 | 1 | 3;

export interface ZoomOptions {
  /** Spline order; default 3, as SciPy. */
  readonly order?: ZoomOrder;
}

/** Python's `round`: half to even. SciPy sizes the output with it, so 5·0.5 = 2.5 gives 2. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Output shape of a zoom: `round(n · factor)` per axis (Python rounding). */
export function zoomOutputShape(shape: readonly number[], factors: readonly number[]): number[] {
  if (factors.length !== shape.length) {
    throw new MasamError(`zoom: ${factors.length} factors for shape ${formatShape(shape)}`);
  }
  return shape.map((n, a) => {
    const f = factors[a]!;
    if (!(f > 0) || !Number.isFinite(f)) throw new MasamError(`zoom: factor ${f} on axis ${a} must be > 0`);
    return Math.max(roundHalfEven(n * f), 1);
  });
}

/**
 * Zooms a row-major array exactly as `scipy.ndimage.zoom(x, factors, order)` with the default
 * `mode='constant'`, `grid_mode=False` (spec 8.5): output index o on an axis samples input coordinate
 * `o·(n_in − 1)/(n_out − 1)`, so the first and last samples hit the corners. Axes whose size does not
 * change are copied (a zoom with factors (f, f, 1) equals a 2D zoom of each slice). The output has the
 * input's dtype; integer outputs are rounded half away from zero and clipped to the dtype's range.
 * Differences from SciPy are float64 rounding only (separable passes instead of one tensor-product sum).
 * @example zoom(float32([2, 2], [0, 1, 2, 3]), [1.5, 1.5], { order: 1 }).shape // [3, 3]
 */
export function zoom<D extends DType>(
  input: HostTensor<D>,
  factors: readonly number[],
  options: ZoomOptions = {},
): HostTensor<D> {
  const outShape = zoomOutputShape(input.shape, factors);
  return { dtype: input.dtype, shape: outShape, data: zoomData(input, outShape, options.order ?? 3) };
}

/**
 * Zooms a row-major array to an exact output shape (SciPy's rule, with the factors implied by the shapes).
 */
export function zoomToShape<D extends DType>(
  input: HostTensor<D>,
  outShape: readonly number[],
  options: ZoomOptions = {},
): HostTensor<D> {
  if (outShape.length !== input.shape.length || outShape.some((n) => !(n >= 1) || !Number.isInteger(n))) {
    throw new MasamError(
      `zoomToShape: bad output shape ${formatShape(outShape)} for ${formatShape(input.shape)}`,
    );
  }
  return { dtype: input.dtype, shape: [...outShape], data: zoomData(input, outShape, options.order ?? 3) };
}

/**
 * Zooms a Volume along its voxel axes (i, j, k[, t]) with `factors` in the same order, e.g.
 * `[512/nx, 512/ny, 1]`. Geometry is kept: voxel o of the result sits where voxel o·s of the input did
 * (s = (n_in − 1)/(n_out − 1)), so spacing and the affine's columns are scaled by s and the origin stays.
 */
export function zoomVolume<D extends DType>(
  volume: Volume<D>,
  factors: readonly number[],
  options: ZoomOptions = {},
): Volume<D> {
  const outShape = zoomOutputShape(volume.shape, factors);
  // Index i fastest = row-major with the axes reversed.
  const rowMajor: HostTensor<D> = {
    dtype: volume.dtype,
    shape: [...volume.shape].reverse(),
    data: volume.data,
  };
  const data = zoomData(rowMajor, [...outShape].reverse(), options.order ?? 3);
  const steps = volume.shape.map((n, a) =>
    outShape[a]! > 1 && outShape[a] !== n ? (n - 1) / (outShape[a]! - 1) : 1,
  );
  const col = (r: readonly [number, number, number, number]): [number, number, number, number] => [
    r[0] * (steps[0] ?? 1),
    r[1] * (steps[1] ?? 1),
    r[2] * (steps[2] ?? 1),
    r[3],
  ];
  const a = volume.affine;
  const affine: Affine = [col(a[0]), col(a[1]), col(a[2]), [...a[3]]];
  return {
    ...volume,
    data,
    shape: outShape,
    spacing: volume.spacing.map((s, ax) => s * (steps[ax] ?? 1)),
    affine,
  };
}

function zoomData<D extends DType>(
  input: HostTensor<D>,
  outShape: readonly number[],
  order: ZoomOrder,
): TypedArrayOf[D] {
  const shape = input.shape;
  if (input.data.length !== numel(shape)) {
    throw new MasamError(`zoom: ${input.data.length} elements do not fill shape ${formatShape(shape)}`);
  }
  if (order !== 0 && order !== 1 && order !== 3)
    throw new MasamError(`zoom: order ${order} is not supported`);
  if (order === 0) return zoomNearest(input.data, input.dtype, shape, outShape);
  let data = toFloat64(input);
  const cur = [...shape];
  for (let a = 0; a < shape.length; a++) {
    const n = shape[a]!;
    const m = outShape[a]!;
    if (n === m) continue;
    const outer = numel(cur.slice(0, a));
    const inner = numel(cur.slice(a + 1));
    data = splinePass(data, outer, n, inner, m, order);
    cur[a] = m;
  }
  return castOut(data, input.dtype);
}

/** Order 0: separable gathers with index `floor(c + 0.5)`, on the source dtype (no float round trip). */
function zoomNearest<D extends DType>(
  src: TypedArrayOf[D],
  dtype: D,
  shape: readonly number[],
  outShape: readonly number[],
): TypedArrayOf[D] {
  let data: TypedArray = src;
  const cur = [...shape];
  for (let a = 0; a < shape.length; a++) {
    const n = shape[a]!;
    const m = outShape[a]!;
    if (n === m) continue;
    const scale = m > 1 ? (n - 1) / (m - 1) : 1;
    const map = new Int32Array(m);
    for (let o = 0; o < m; o++) map[o] = mirrorIndex(Math.floor(o * scale + 0.5), n);
    const outer = numel(cur.slice(0, a));
    const inner = numel(cur.slice(a + 1));
    const next = allocate(dtype, outer * m * inner);
    gatherAxis(data, next, outer, n, inner, map);
    data = next;
    cur[a] = m;
  }
  return data === src ? (src.slice() as TypedArrayOf[D]) : (data as TypedArrayOf[D]);
}

function gatherAxis<T extends TypedArray>(
  src: T,
  dst: T,
  outer: number,
  n: number,
  inner: number,
  map: Int32Array,
): void {
  const m = map.length;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < m; k++) {
      const from = (o * n + map[k]!) * inner;
      const to = (o * m + k) * inner;
      for (let i = 0; i < inner; i++) dst[to + i] = src[from + i]!;
    }
  }
}

/** SciPy's mirror extension `d c b | a b c d | c b a` (period 2n − 2; a length-1 axis maps to 0). */
function mirrorIndex(i: number, n: number): number {
  if (n <= 1) return 0;
  const period = 2 * n - 2;
  let j = Math.abs(i) % period;
  if (j >= n) j = period - j;
  return j;
}

/** One axis of an order-1 or order-3 zoom on float64 data laid out as [outer, n, inner] → [outer, m, inner]. */
function splinePass(
  src: Float64Array,
  outer: number,
  n: number,
  inner: number,
  m: number,
  order: 1 | 3,
): Float64Array {
  const taps = order + 1;
  const scale = m > 1 ? (n - 1) / (m - 1) : 1;
  const index = new Int32Array(m * taps);
  const weight = new Float64Array(m * taps);
  for (let o = 0; o < m; o++) {
    const x = o * scale;
    const fl = Math.floor(x);
    const t = x - fl;
    const start = fl - (order >> 1);
    const w = order === 3 ? cubicWeights(t) : [1 - t, t];
    for (let h = 0; h < taps; h++) {
      index[o * taps + h] = mirrorIndex(start + h, n);
      weight[o * taps + h] = w[h]!;
    }
  }
  const out = new Float64Array(outer * m * inner);
  const line = new Float64Array(n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      for (let k = 0; k < n; k++) line[k] = src[base + k * inner]!;
      if (order === 3) cubicPrefilter(line);
      const outBase = o * m * inner + i;
      for (let k = 0; k < m; k++) {
        let s = 0;
        for (let h = 0; h < taps; h++) s += weight[k * taps + h]! * line[index[k * taps + h]!]!;
        out[outBase + k * inner] = s;
      }
    }
  }
  return out;
}

/** Cubic B-spline weights for the 4 knots floor(x) − 1 … floor(x) + 2, with t = x − floor(x). */
function cubicWeights(t: number): [number, number, number, number] {
  const u = 1 - t;
  return [(u * u * u) / 6, 2 / 3 - t * t + (t * t * t) / 2, 2 / 3 - u * u + (u * u * u) / 2, (t * t * t) / 6];
}

const CUBIC_POLE = Math.sqrt(3) - 2;

/**
 * In-place cubic B-spline prefilter of one line with mirror boundaries (SciPy's `spline_filter1d`,
 * mode 'mirror', which its 'constant' zoom uses too): gain 6, then a causal and an anti-causal pass.
 */
function cubicPrefilter(c: Float64Array): void {
  const n = c.length;
  if (n < 2) return;
  const z = CUBIC_POLE;
  const gain = (1 - z) * (1 - 1 / z);
  for (let i = 0; i < n; i++) c[i]! *= gain;
  // Causal initial value: the mirror-extended infinite sum, folded into a finite one.
  const zn1 = z ** (n - 1);
  let zi = z;
  let c0 = c[0]! + zn1 * c[n - 1]!;
  for (let i = 1; i < n - 1; i++) {
    c0 += zi * (c[i]! + zn1 * c[n - 1 - i]!);
    zi *= z;
  }
  c[0] = c0 / (1 - zn1 * zn1);
  for (let i = 1; i < n; i++) c[i]! += z * c[i - 1]!;
  c[n - 1] = ((z * c[n - 2]! + c[n - 1]!) * z) / (z * z - 1);
  for (let i = n - 2; i >= 0; i--) c[i] = z * (c[i + 1]! - c[i]!);
}

const INT_RANGE: Partial<Record<DType, readonly [number, number]>> = {
  uint8: [0, 255],
  bool: [0, 1],
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** SciPy's output cast: floats stored as is; integers rounded half away from zero, then clipped. */
function castOut<D extends DType>(values: Float64Array, dtype: D): TypedArrayOf[D] {
  if (dtype === 'float64') return values as TypedArrayOf[D];
  const out = allocate(dtype, values.length);
  if (dtype === 'float32') {
    (out as Float32Array).set(values);
    return out;
  }
  const [lo, hi] = INT_RANGE[dtype]!;
  const rounded = (v: number): number => {
    const r = v > 0 ? Math.trunc(v + 0.5) : Math.trunc(v - 0.5);
    return r < lo ? lo : r > hi ? hi : r;
  };
  if (out instanceof BigInt64Array) {
    for (let i = 0; i < values.length; i++) out[i] = BigInt(rounded(values[i]!));
  } else {
    const o = out as Exclude<TypedArray, BigInt64Array>;
    for (let i = 0; i < values.length; i++) o[i] = rounded(values[i]!);
  }
  return out;
}
