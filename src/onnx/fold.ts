// Constant folding for graph rewrites: evaluates the float32 values a graph computes from its initializers
// alone (the weight expressions masam emits: a linear layer's Transpose(weight); MA-SAM's qkv weight
// W + FacT delta, itself MatMuls of initializers; the 3D adapter's conv taps, Slices of its weight), and
// prunes the nodes a rewrite leaves unused.
// Arithmetic runs in float64 and rounds to float32 per node, as onnxruntime's float32 kernels would.
import type onnxProto from 'onnx-proto';
import { float32Values, onnx } from './proto.js';

type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;

/** A dense float32 tensor, row-major. */
export interface Float32Value {
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/** Drops nodes none of whose outputs reach a graph output (the float weight expressions replaced above). */
export function pruneDeadNodes(nodes: readonly INode[], graph: onnxProto.onnx.IGraphProto): INode[] {
  const needed = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const live: INode[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (!(node.output ?? []).some((o) => needed.has(o))) continue;
    live.push(node);
    for (const x of node.input ?? []) if (x) needed.add(x);
  }
  return live.reverse();
}

/**
 * Evaluates float32 values computed from initializers alone (the weight expressions masam emits:
 * Transpose, Reshape, Slice, elementwise Add/Sub/Mul with broadcasting, 2-D MatMul, Concat, Expand,
 * Identity).
 * Initializers that are also graph inputs can be overridden at run time and are not constant.
 */
export class ConstantEvaluator {
  private readonly initializers = new Map<string, ITensor>();
  private readonly producers = new Map<string, INode>();
  private readonly constants = new Set<string>();
  private readonly values = new Map<string, Float32Value | undefined>();

  constructor(graph: onnxProto.onnx.IGraphProto) {
    const inputs = new Set((graph.input ?? []).map((v) => v.name ?? ''));
    for (const t of graph.initializer ?? []) {
      const name = t.name ?? '';
      if (inputs.has(name)) continue;
      this.initializers.set(name, t);
      this.constants.add(name);
    }
    // ONNX lists nodes in topological order: one pass finds every value computed from constants alone.
    for (const n of graph.node ?? []) {
      for (const o of n.output ?? []) this.producers.set(o, n);
      if ((n.input ?? []).every((x) => !x || this.constants.has(x))) {
        for (const o of n.output ?? []) this.constants.add(o);
      }
    }
  }

  isConstant(name: string): boolean {
    return this.constants.has(name);
  }

  /** The initializers a constant is computed from. */
  sources(name: string): ITensor[] {
    const found = new Set<string>();
    const seen = new Set<string>();
    const stack = [name];
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (seen.has(v)) continue;
      seen.add(v);
      if (this.initializers.has(v)) found.add(v);
      else stack.push(...(this.producers.get(v)?.input ?? []).filter((x) => x));
    }
    return [...found].map((v) => this.initializers.get(v)!);
  }

  /** The float32 value of a constant, or undefined where an op or dtype is outside this evaluator. */
  evaluate(name: string): Float32Value | undefined {
    if (!this.values.has(name)) this.values.set(name, this.compute(name));
    return this.values.get(name);
  }

  private compute(name: string): Float32Value | undefined {
    const t = this.initializers.get(name);
    if (t) {
      if (t.dataType !== onnx.TensorProto.DataType.FLOAT) return undefined;
      return { dims: (t.dims ?? []).map(Number), data: float32Values(t) };
    }
    const node = this.producers.get(name);
    if (!node || (node.output ?? []).length !== 1 || (node.domain ?? '') !== '') return undefined;
    const inputs = node.input ?? [];
    const x = inputs[0] ? this.evaluate(inputs[0]) : undefined;
    if (!x) return undefined;
    switch (node.opType) {
      case 'Identity':
        return x;
      case 'Transpose': {
        const perm = intsAttr(node, 'perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i);
        return transpose(x, perm);
      }
      case 'Reshape': {
        const shape = this.int64s(inputs[1]);
        return shape && reshape(x, shape);
      }
      case 'Expand': {
        const shape = this.int64s(inputs[1]);
        return (
          shape &&
          broadcast(x, { dims: shape, data: new Float32Array(shape.reduce((n, d) => n * d, 1)) }, (u) => u)
        );
      }
      case 'Add':
      case 'Sub':
      case 'Mul': {
        const y = inputs[1] ? this.evaluate(inputs[1]) : undefined;
        if (!y) return undefined;
        const f =
          node.opType === 'Add'
            ? (u: number, v: number) => u + v
            : node.opType === 'Sub'
              ? (u: number, v: number) => u - v
              : (u: number, v: number) => u * v;
        return broadcast(x, y, f);
      }
      case 'MatMul': {
        const y = inputs[1] ? this.evaluate(inputs[1]) : undefined;
        return y && matmul2d(x, y);
      }
      case 'Slice': {
        const [starts, ends, axes, steps] = [1, 2, 3, 4].map((i) =>
          inputs[i] ? this.int64s(inputs[i]) : null,
        );
        if (!starts || !ends || axes === undefined || steps === undefined) return undefined;
        return slice(x, starts, ends, axes ?? starts.map((_, i) => i), steps ?? starts.map(() => 1));
      }
      case 'Concat': {
        const parts = inputs.map((i) => this.evaluate(i));
        if (parts.some((p) => !p)) return undefined;
        return concat(
          parts as Float32Value[],
          Number(node.attribute?.find((a) => a.name === 'axis')?.i ?? 0),
        );
      }
      default:
        return undefined;
    }
  }

  private int64s(name: string | undefined): number[] | undefined {
    const t = name ? this.initializers.get(name) : undefined;
    if (!t || t.dataType !== onnx.TensorProto.DataType.INT64) return undefined;
    if (t.rawData && t.rawData.byteLength > 0)
      return Array.from(new BigInt64Array(new Uint8Array(t.rawData).buffer), Number);
    return (t.int64Data ?? []).map(Number);
  }
}

function intsAttr(node: INode, name: string): number[] | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  return a?.ints ? a.ints.map(Number) : undefined;
}

function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

/** Calls f with the flat index and the multi-index of every element of a tensor of `dims`. */
function forEachIndex(dims: readonly number[], f: (flat: number, index: readonly number[]) => void): void {
  const total = dims.reduce((n, d) => n * d, 1);
  const index = new Array<number>(dims.length).fill(0);
  for (let flat = 0; flat < total; flat++) {
    f(flat, index);
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++index[d]! < dims[d]!) break;
      index[d] = 0;
    }
  }
}

function transpose(x: Float32Value, perm: readonly number[]): Float32Value {
  const dims = perm.map((p) => x.dims[p]!);
  const inStrides = stridesOf(x.dims);
  const data = new Float32Array(x.data.length);
  forEachIndex(dims, (flat, index) => {
    let src = 0;
    for (let d = 0; d < dims.length; d++) src += index[d]! * inStrides[perm[d]!]!;
    data[flat] = x.data[src]!;
  });
  return { dims, data };
}

function reshape(x: Float32Value, shape: readonly number[]): Float32Value | undefined {
  const dims = shape.map((d, i) => (d === 0 ? x.dims[i]! : d));
  const known = dims.reduce((n, d) => (d === -1 ? n : n * d), 1);
  const resolved = dims.map((d) => (d === -1 ? x.data.length / known : d));
  return resolved.reduce((n, d) => n * d, 1) === x.data.length ? { dims: resolved, data: x.data } : undefined;
}

/** Numpy broadcasting of f over x and y, rounded to float32 like onnxruntime's kernels. */
function broadcast(
  x: Float32Value,
  y: Float32Value,
  f: (u: number, v: number) => number,
): Float32Value | undefined {
  const rank = Math.max(x.dims.length, y.dims.length);
  const pad = (d: readonly number[]) => [...new Array<number>(rank - d.length).fill(1), ...d];
  const xd = pad(x.dims);
  const yd = pad(y.dims);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) {
    if (xd[i] !== yd[i] && xd[i] !== 1 && yd[i] !== 1) return undefined;
    dims.push(Math.max(xd[i]!, yd[i]!));
  }
  const xs = stridesOf(xd).map((s, i) => (xd[i] === 1 ? 0 : s));
  const ys = stridesOf(yd).map((s, i) => (yd[i] === 1 ? 0 : s));
  const data = new Float32Array(dims.reduce((n, d) => n * d, 1));
  forEachIndex(dims, (flat, index) => {
    let xi = 0;
    let yi = 0;
    for (let d = 0; d < rank; d++) {
      xi += index[d]! * xs[d]!;
      yi += index[d]! * ys[d]!;
    }
    data[flat] = f(x.data[xi]!, y.data[yi]!);
  });
  return { dims, data };
}

function matmul2d(x: Float32Value, y: Float32Value): Float32Value | undefined {
  if (x.dims.length !== 2 || y.dims.length !== 2 || x.dims[1] !== y.dims[0]) return undefined;
  const [m, k] = x.dims as [number, number];
  const n = y.dims[1]!;
  const data = new Float32Array(m * n);
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const a = x.data[i * k + p]!;
      for (let j = 0; j < n; j++) row[j]! += a * y.data[p * n + j]!;
    }
    data.set(row, i * n);
  }
  return { dims: [m, n], data };
}

/** ONNX Slice with positive steps (indices clamped as the operator defines); undefined otherwise. */
function slice(
  x: Float32Value,
  starts: readonly number[],
  ends: readonly number[],
  axes: readonly number[],
  steps: readonly number[],
): Float32Value | undefined {
  const rank = x.dims.length;
  const begin = x.dims.map(() => 0);
  const step = x.dims.map(() => 1);
  const dims = [...x.dims];
  for (let i = 0; i < starts.length; i++) {
    const axis = axes[i]! < 0 ? axes[i]! + rank : axes[i]!;
    const size = x.dims[axis]!;
    if (steps[i]! <= 0 || axis < 0 || axis >= rank) return undefined;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
    begin[axis] = clamp(starts[i]!);
    step[axis] = steps[i]!;
    dims[axis] = Math.max(0, Math.ceil((clamp(ends[i]!) - begin[axis]!) / steps[i]!));
  }
  const strides = stridesOf(x.dims);
  const data = new Float32Array(dims.reduce((n, d) => n * d, 1));
  forEachIndex(dims, (flat, index) => {
    let src = 0;
    for (let d = 0; d < rank; d++) src += (begin[d]! + index[d]! * step[d]!) * strides[d]!;
    data[flat] = x.data[src]!;
  });
  return { dims, data };
}

function concat(parts: readonly Float32Value[], axis: number): Float32Value | undefined {
  const rank = parts[0]!.dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  const dims = [...parts[0]!.dims];
  dims[ax] = parts.reduce((n, p) => n + p.dims[ax]!, 0);
  const outer = dims.slice(0, ax).reduce((n, d) => n * d, 1);
  const data = new Float32Array(dims.reduce((n, d) => n * d, 1));
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const block = p.data.length / outer;
      data.set(p.data.subarray(o * block, (o + 1) * block), offset);
      offset += block;
    }
  }
  return { dims, data };
}
