// Elementwise primitives: unary math, broadcasting binary math (numpy rules), comparisons, Where, Cast.
// VJPs return cotangents in the broadcast output shape; the engine sums them back to each input's shape.
import { type DType, ONNX_DTYPE, isFloat } from '../core/dtype.js';
import { broadcastShapes, formatShape } from '../core/shape.js';
import type { TypeInfo } from '../graph/index.js';
import { type OpDef, RuleError, type VjpRule, int } from './def.js';

export type NoAttrs = Record<string, never>;

function sameDtype(inputs: readonly TypeInfo[]): DType {
  const dtype = inputs[0]!.dtype;
  for (const x of inputs) {
    if (x.dtype !== dtype) throw new RuleError(`dtypes differ (${inputs.map((i) => i.dtype).join(', ')})`);
  }
  return dtype;
}

function broadcastOrThrow(inputs: readonly TypeInfo[]): number[] {
  const shape = broadcastShapes(...inputs.map((x) => x.shape));
  if (!shape)
    throw new RuleError(`shapes ${inputs.map((x) => formatShape(x.shape)).join(' and ')} do not broadcast`);
  return shape;
}

function requireFloat(dtype: DType): void {
  if (!isFloat(dtype)) throw new RuleError(`needs a float input, got ${dtype}`);
}

function unary(name: string, vjp: VjpRule<NoAttrs> | 'none', floatOnly = true): OpDef<NoAttrs> {
  return {
    name,
    shape: ([x]) => {
      if (floatOnly) requireFloat(x!.dtype);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    emit: (e, { inputs, outputs }) => e.node(name, inputs, outputs),
    vjp,
  };
}

function binary(name: string, vjp: VjpRule<NoAttrs> | 'none', outDtype?: DType): OpDef<NoAttrs> {
  return {
    name,
    shape: (inputs) => [{ dtype: outDtype ?? sameDtype(inputs), shape: broadcastOrThrow(inputs) }],
    emit: (e, { inputs, outputs }) => e.node(name, inputs, outputs),
    vjp,
  };
}

// --- unary ---------------------------------------------------------------------------------------------

export const Neg = unary('Neg', ({ cotangents: [g] }, F) => [F.neg(g!)]);
export const Exp = unary('Exp', ({ cotangents: [g], outputs: [y] }, F) => [F.mul(g!, y!)]);
export const Log = unary('Log', ({ cotangents: [g], inputs: [x] }, F) => [F.div(g!, x!)]);
export const Sqrt = unary('Sqrt', ({ cotangents: [g], outputs: [y] }, F) => [F.div(g!, F.mul(y!, 2))]);
export const Tanh = unary('Tanh', ({ cotangents: [g], outputs: [y] }, F) => [
  F.mul(g!, F.sub(1, F.mul(y!, y!))),
]);
export const Sigmoid = unary('Sigmoid', ({ cotangents: [g], outputs: [y] }, F) => [
  F.mul(g!, F.mul(y!, F.sub(1, y!))),
]);
export const Relu = unary('Relu', ({ cotangents: [g], inputs: [x] }, F) => [
  F.mul(g!, F.cast(F.greater(x!, 0), x!.dtype)),
]);
/** d erf(x)/dx = 2/√π · exp(−x²). */
export const Erf = unary('Erf', ({ cotangents: [g], inputs: [x] }, F) => [
  F.mul(g!, F.mul(F.exp(F.neg(F.mul(x!, x!))), 2 / Math.sqrt(Math.PI))),
]);
export const Sin = unary('Sin', ({ cotangents: [g], inputs: [x] }, F) => [F.mul(g!, F.cos(x!))]);
export const Cos = unary('Cos', ({ cotangents: [g], inputs: [x] }, F) => [F.neg(F.mul(g!, F.sin(x!)))]);
/** Identity; with `stopGradient` it blocks the reverse sweep (autodiff treats its VJP as absent). */
export interface IdentityAttrs {
  readonly stopGradient: boolean;
}
export const Identity: OpDef<IdentityAttrs> = {
  name: 'Identity',
  shape: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
  emit: (e, { inputs, outputs }) => e.node('Identity', inputs, outputs),
  vjp: ({ cotangents: [g], attrs }) => [attrs.stopGradient ? null : g!],
};

// --- binary --------------------------------------------------------------------------------------------

export const Add = binary('Add', ({ cotangents: [g], needs }) => [
  needs[0] ? g! : null,
  needs[1] ? g! : null,
]);
export const Sub = binary('Sub', ({ cotangents: [g], needs }, F) => [
  needs[0] ? g! : null,
  needs[1] ? F.neg(g!) : null,
]);
export const Mul = binary('Mul', ({ cotangents: [g], inputs: [a, b], needs }, F) => [
  needs[0] ? F.mul(g!, b!) : null,
  needs[1] ? F.mul(g!, a!) : null,
]);
export const Div = binary('Div', ({ cotangents: [g], inputs: [, b], outputs: [y], needs }, F) => [
  needs[0] ? F.div(g!, b!) : null,
  needs[1] ? F.neg(F.div(F.mul(g!, y!), b!)) : null,
]);
/** a^b; the exponent's gradient g·y·log(a) is defined for a > 0. */
export const Pow = binary('Pow', ({ cotangents: [g], inputs: [a, b], outputs: [y], needs }, F) => [
  needs[0] ? F.mul(g!, F.mul(b!, F.pow(a!, F.sub(b!, 1)))) : null,
  needs[1] ? F.mul(g!, F.mul(y!, F.log(a!))) : null,
]);

/** Ties split the gradient evenly between both inputs (as PyTorch's maximum/minimum). */
function selectVjp(pick: 'greater' | 'less'): VjpRule<NoAttrs> {
  return ({ cotangents: [g], inputs: [a, b], needs }, F) => {
    const dtype = g!.dtype;
    const wins = (x: typeof a, y: typeof a) =>
      F.cast(pick === 'greater' ? F.greater(x!, y!) : F.less(x!, y!), dtype);
    const half = F.mul(F.cast(F.equal(a!, b!), dtype), 0.5);
    return [
      needs[0] ? F.mul(g!, F.add(wins(a, b), half)) : null,
      needs[1] ? F.mul(g!, F.add(wins(b, a), half)) : null,
    ];
  };
}
export const Max = binary('Max', selectVjp('greater'));
export const Min = binary('Min', selectVjp('less'));

export const Equal = binary('Equal', 'none', 'bool');
export const Less = binary('Less', 'none', 'bool');
export const Greater = binary('Greater', 'none', 'bool');

// --- Where, Cast -----------------------------------------------------------------------------------------

export const Where: OpDef<NoAttrs> = {
  name: 'Where',
  shape: (inputs) => {
    const [c, x, y] = inputs;
    if (c!.dtype !== 'bool') throw new RuleError(`condition must be bool, got ${c!.dtype}`);
    return [{ dtype: sameDtype([x!, y!]), shape: broadcastOrThrow(inputs) }];
  },
  emit: (e, { inputs, outputs }) => e.node('Where', inputs, outputs),
  vjp: ({ cotangents: [g], inputs: [c], needs }, F) => {
    const zero = F.zerosLike(g!);
    return [null, needs[1] ? F.where(c!, g!, zero) : null, needs[2] ? F.where(c!, zero, g!) : null];
  },
};

export interface CastAttrs {
  readonly to: DType;
}
export const Cast: OpDef<CastAttrs> = {
  name: 'Cast',
  shape: ([x], { to }) => [{ dtype: to, shape: x!.shape }],
  emit: (e, { inputs, outputs, attrs }) => e.node('Cast', inputs, outputs, { to: int(ONNX_DTYPE[attrs.to]) }),
  // Gradient flows only float → float; casts to or from integers are not differentiable.
  vjp: ({ cotangents: [g], inputs: [x] }, F) =>
    isFloat(x!.dtype) && isFloat(g!.dtype) ? [F.cast(g!, x!.dtype)] : [null],
};
