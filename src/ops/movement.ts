// Movement primitives. Each VJP is its adjoint pair: reshape↔reshape, transpose↔inverse, slice↔pad,
// expand↔reduce-sum (done by the engine's sum-to-shape), concat↔slice, split↔concat, gather↔one-hot matmul.
import { broadcastShapes, formatShape, invertPerm, numel, shapesEqual } from '../core/shape.js';
import type { Value } from '../graph/index.js';
import { type OpDef, type OpsApi, RuleError, int, ints } from './def.js';

export interface ShapeAttrs {
  readonly shape: readonly number[];
}

export const Reshape: OpDef<ShapeAttrs> = {
  name: 'Reshape',
  shape: ([x], { shape }) => {
    if (shape.some((d) => d < 0 || !Number.isInteger(d)))
      throw new RuleError(`target ${formatShape(shape)} must be explicit`);
    if (numel(shape) !== numel(x!.shape)) throw new RuleError(`cannot reshape to ${formatShape(shape)}`);
    return [{ dtype: x!.dtype, shape }];
  },
  emit: (e, { inputs, outputs, attrs }) => e.node('Reshape', [inputs[0]!, e.int64(attrs.shape)], outputs),
  vjp: ({ cotangents: [g], inputs: [x] }, F) => [F.reshape(g!, x!.shape)],
};

export interface TransposeAttrs {
  readonly perm: readonly number[];
}

export const Transpose: OpDef<TransposeAttrs> = {
  name: 'Transpose',
  shape: ([x], { perm }) => {
    const r = x!.shape.length;
    if (perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
      throw new RuleError(`perm [${perm.join(', ')}] is not a permutation of rank ${r}`);
    }
    return [{ dtype: x!.dtype, shape: perm.map((p) => x!.shape[p]!) }];
  },
  emit: (e, { inputs, outputs, attrs }) => e.node('Transpose', inputs, outputs, { perm: ints(attrs.perm) }),
  vjp: ({ cotangents: [g], attrs }, F) => [F.transpose(g!, invertPerm(attrs.perm))],
};

/** Broadcast to `shape` (which must be the broadcast of the input shape and itself). */
export const Expand: OpDef<ShapeAttrs> = {
  name: 'Expand',
  shape: ([x], { shape }) => {
    const out = broadcastShapes(x!.shape, shape);
    if (!out || !shapesEqual(out, shape)) throw new RuleError(`cannot broadcast to ${formatShape(shape)}`);
    return [{ dtype: x!.dtype, shape }];
  },
  emit: (e, { inputs, outputs, attrs }) => e.node('Expand', [inputs[0]!, e.int64(attrs.shape)], outputs),
  vjp: ({ cotangents: [g] }) => [g!], // the engine sums g back to the input shape
};

/** Per-axis slice over every axis: 0 ≤ start ≤ end ≤ dim, step ≥ 1 (normalised by the api). */
export interface SliceAttrs {
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  readonly steps: readonly number[];
}

export const Slice: OpDef<SliceAttrs> = {
  name: 'Slice',
  shape: ([x], { starts, ends, steps }) => {
    const r = x!.shape.length;
    if (starts.length !== r || ends.length !== r || steps.length !== r)
      throw new RuleError('needs starts/ends/steps per axis');
    const shape = x!.shape.map((d, i) => {
      const [s, e, st] = [starts[i]!, ends[i]!, steps[i]!];
      if (!(0 <= s && s <= e && e <= d && st >= 1))
        throw new RuleError(`bad range ${s}:${e}:${st} on axis ${i} of size ${d}`);
      return Math.ceil((e - s) / st);
    });
    return [{ dtype: x!.dtype, shape }];
  },
  emit: (e, { inputs, outputs, attrs }) => {
    const axes = attrs.starts.map((_, i) => i);
    e.node(
      'Slice',
      [inputs[0]!, e.int64(attrs.starts), e.int64(attrs.ends), e.int64(axes), e.int64(attrs.steps)],
      outputs,
    );
  },
  vjp: ({ cotangents: [g], inputs: [x], attrs }, F) => [sliceVjp(g!, x!.shape, attrs, F)],
};

/** Scatters g back into a zero tensor of the input shape: strided axes are interleaved with zeros first. */
function sliceVjp(g: Value, inShape: readonly number[], { starts, steps }: SliceAttrs, F: OpsApi): Value {
  let y = g;
  const r = inShape.length;
  for (let axis = 0; axis < r; axis++) {
    const step = steps[axis]!;
    if (step === 1) continue;
    const m = y.shape[axis]!;
    // [.., m, ..] → [.., m, 1, ..] → pad to [.., m, step, ..] → [.., m·step, ..] → crop to what fits
    const withUnit = [...y.shape.slice(0, axis + 1), 1, ...y.shape.slice(axis + 1)];
    const pads = new Array<number>(2 * (r + 1)).fill(0);
    pads[r + 1 + axis + 1] = step - 1;
    y = F.pad(F.reshape(y, withUnit), pads);
    const merged = [...y.shape.slice(0, axis), m * step, ...y.shape.slice(axis + 2)];
    y = F.reshape(y, merged);
    const fits = Math.min(m * step, inShape[axis]! - starts[axis]!);
    if (fits < m * step) y = F.sliceAxis(y, axis, 0, fits);
  }
  const pads = new Array<number>(2 * r).fill(0);
  for (let axis = 0; axis < r; axis++) {
    pads[axis] = starts[axis]!;
    pads[r + axis] = inShape[axis]! - starts[axis]! - y.shape[axis]!;
  }
  return F.pad(y, pads);
}

/** Constant padding; `pads` in ONNX order (all begins, then all ends), non-negative. */
export interface PadAttrs {
  readonly pads: readonly number[];
  readonly value: number;
}

export const Pad: OpDef<PadAttrs> = {
  name: 'Pad',
  shape: ([x], { pads }) => {
    const r = x!.shape.length;
    if (pads.length !== 2 * r || pads.some((p) => p < 0))
      throw new RuleError(`pads [${pads.join(', ')}] invalid for rank ${r}`);
    return [{ dtype: x!.dtype, shape: x!.shape.map((d, i) => d + pads[i]! + pads[r + i]!) }];
  },
  emit: (e, { inputs, outputs, attrs, inputTypes }) =>
    e.node('Pad', [inputs[0]!, e.int64(attrs.pads), e.scalar(attrs.value, inputTypes[0]!.dtype)], outputs, {
      mode: { string: 'constant' },
    }),
  vjp: ({ cotangents: [g], inputs: [x], attrs }, F) => {
    const r = x!.shape.length;
    const starts = attrs.pads.slice(0, r);
    return [
      F.slice(
        g!,
        starts,
        starts.map((s, i) => s + x!.shape[i]!),
      ),
    ];
  },
};

export interface AxisAttrs {
  readonly axis: number;
}

export const Concat: OpDef<AxisAttrs> = {
  name: 'Concat',
  shape: (inputs, { axis }) => {
    const first = inputs[0]!;
    let total = 0;
    for (const x of inputs) {
      if (x.dtype !== first.dtype) throw new RuleError('dtypes differ');
      if (
        x.shape.length !== first.shape.length ||
        x.shape.some((d, i) => i !== axis && d !== first.shape[i])
      ) {
        throw new RuleError(`shapes differ outside axis ${axis}`);
      }
      total += x.shape[axis]!;
    }
    return [{ dtype: first.dtype, shape: first.shape.map((d, i) => (i === axis ? total : d)) }];
  },
  emit: (e, { inputs, outputs, attrs }) => e.node('Concat', inputs, outputs, { axis: int(attrs.axis) }),
  vjp: ({ cotangents: [g], inputs, attrs, needs }, F) => {
    let offset = 0;
    return inputs.map((x, i) => {
      const begin = offset;
      offset += x.shape[attrs.axis]!;
      return needs[i] ? F.sliceAxis(g!, attrs.axis, begin, offset) : null;
    });
  },
};

export interface SplitAttrs {
  readonly axis: number;
  readonly sizes: readonly number[];
}

export const Split: OpDef<SplitAttrs> = {
  name: 'Split',
  shape: ([x], { axis, sizes }) => {
    if (sizes.reduce((a, b) => a + b, 0) !== x!.shape[axis]) {
      throw new RuleError(`sizes [${sizes.join(', ')}] do not add up to ${x!.shape[axis]} on axis ${axis}`);
    }
    return sizes.map((s) => ({ dtype: x!.dtype, shape: x!.shape.map((d, i) => (i === axis ? s : d)) }));
  },
  emit: (e, { inputs, outputs, attrs }) =>
    e.node('Split', [inputs[0]!, e.int64(attrs.sizes)], outputs, { axis: int(attrs.axis) }),
  vjp: ({ cotangents, outputs, attrs }, F) => [
    F.concat(
      cotangents.map((g, i) => g ?? F.zerosLike(outputs[i]!)),
      attrs.axis,
    ),
  ],
};

/** ONNX Gather with int32/int64 indices (non-negative). */
export const Gather: OpDef<AxisAttrs> = {
  name: 'Gather',
  shape: ([data, indices], { axis }) => {
    if (indices!.dtype !== 'int64' && indices!.dtype !== 'int32')
      throw new RuleError(`indices must be int64/int32, got ${indices!.dtype}`);
    const s = data!.shape;
    return [{ dtype: data!.dtype, shape: [...s.slice(0, axis), ...indices!.shape, ...s.slice(axis + 1)] }];
  },
  emit: (e, { inputs, outputs, attrs }) => e.node('Gather', inputs, outputs, { axis: int(attrs.axis) }),
  vjp: ({ cotangents: [g], inputs: [data, indices], attrs }, F) => {
    // grad[pre, a, post] = Σ_j onehot[j, a] · g[pre, j, post]: one-hot(indices)ᵀ @ g, built in-graph.
    const s = data!.shape;
    const axis = attrs.axis;
    const pre = numel(s.slice(0, axis));
    const post = numel(s.slice(axis + 1));
    const n = numel(indices!.shape);
    const len = s[axis]!;
    const flatIdx = F.reshape(F.cast(indices!, 'int64'), [n, 1]);
    const onehot = F.cast(F.equal(flatIdx, F.arange(len, 'int64', g!)), g!.dtype); // [n, len]
    const gFlat = F.reshape(g!, [pre, n, post]);
    const grad = F.matmul(F.transpose(onehot, [1, 0]), gFlat); // [len, n] @ [pre, n, post] → [pre, len, post]
    return [F.reshape(grad, s), null];
  },
};
