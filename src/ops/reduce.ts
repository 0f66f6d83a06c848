// Reductions over a set of axes: ReduceSum, ReduceMean, ReduceMax (opset 17: ReduceSum takes axes as an
// input, ReduceMean/ReduceMax as an attribute).
import { normalizeAxis } from '../core/shape.js';
import type { TypeInfo, Value } from '../graph/index.js';
import { type OpDef, type OpsApi, RuleError, type VjpRule, int, ints } from './def.js';

export interface ReduceAttrs {
  /** Non-empty, normalised (non-negative), sorted, unique axes. */
  readonly axes: readonly number[];
  readonly keepdims: boolean;
}

function reduceShape(x: TypeInfo, { axes, keepdims }: ReduceAttrs): number[] {
  if (axes.length === 0) throw new RuleError('axes must not be empty');
  for (const a of axes) {
    if (normalizeAxis(a, x.shape.length) !== a)
      throw new RuleError(`axis ${a} invalid for rank ${x.shape.length}`);
  }
  const out: number[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/** The cotangent reshaped to keepdims form and broadcast back over the input shape. */
function expandBack(g: Value, x: Value, axes: readonly number[], F: OpsApi): Value {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return F.expand(F.reshape(g, kept), x.shape);
}

function reduction(name: string, vjp: VjpRule<ReduceAttrs>, axesAsInput: boolean): OpDef<ReduceAttrs> {
  return {
    name,
    shape: ([x], attrs) => [{ dtype: x!.dtype, shape: reduceShape(x!, attrs) }],
    emit: (e, { inputs, outputs, attrs }) =>
      axesAsInput
        ? e.node(name, [inputs[0]!, e.int64(attrs.axes)], outputs, { keepdims: int(attrs.keepdims ? 1 : 0) })
        : e.node(name, inputs, outputs, { axes: ints(attrs.axes), keepdims: int(attrs.keepdims ? 1 : 0) }),
    vjp,
  };
}

export const ReduceSum = reduction(
  'ReduceSum',
  ({ cotangents: [g], inputs: [x], attrs }, F) => [expandBack(g!, x!, attrs.axes, F)],
  true,
);

export const ReduceMean = reduction(
  'ReduceMean',
  ({ cotangents: [g], inputs: [x], attrs }, F) => {
    const count = attrs.axes.reduce((n, a) => n * x!.shape[a]!, 1);
    return [F.div(expandBack(g!, x!, attrs.axes, F), count)];
  },
  false,
);

/** Ties share the gradient evenly (as torch.amax). */
export const ReduceMax = reduction(
  'ReduceMax',
  ({ cotangents: [g], inputs: [x], outputs: [y], attrs }, F) => {
    const mask = F.cast(F.equal(x!, expandBack(y!, x!, attrs.axes, F)), x!.dtype);
    const count = F.sum(mask, attrs.axes, true);
    return [F.mul(expandBack(g!, x!, attrs.axes, F), F.div(mask, count))];
  },
  false,
);
