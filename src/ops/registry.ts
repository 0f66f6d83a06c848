// The primitive table: one typed object per primitive. Autodiff and the ONNX exporter look nodes up here;
// a primitive without shape, emit or vjp does not compile.
import { Conv, ConvTranspose } from './conv.js';
import type { OpDef } from './def.js';
import {
  Add,
  Cast,
  Div,
  Equal,
  Erf,
  Exp,
  Greater,
  Identity,
  Less,
  Log,
  Max,
  Min,
  Mul,
  Neg,
  Pow,
  Relu,
  Sigmoid,
  Sqrt,
  Sub,
  Sin,
  Cos,
  Tanh,
  Where,
} from './elementwise.js';
import { MatMul } from './matmul.js';
import { Concat, Expand, Gather, Pad, Reshape, Slice, Split, Transpose } from './movement.js';
import { LayerNormalization, LogSoftmax, Softmax } from './normalization.js';
import { ReduceMax, ReduceMean, ReduceSum } from './reduce.js';
import { Resize } from './resize.js';

export const PRIMITIVES = {
  Add,
  Sub,
  Mul,
  Div,
  Neg,
  Exp,
  Log,
  Sqrt,
  Pow,
  Erf,
  Sin,
  Cos,
  Tanh,
  Sigmoid,
  Relu,
  Max,
  Min,
  Where,
  Cast,
  Equal,
  Less,
  Greater,
  Identity,
  ReduceSum,
  ReduceMean,
  ReduceMax,
  MatMul,
  Reshape,
  Transpose,
  Expand,
  Slice,
  Pad,
  Concat,
  Split,
  Gather,
  Conv,
  ConvTranspose,
  Resize,
  Softmax,
  LogSoftmax,
  LayerNormalization,
} as const;

export type PrimitiveName = keyof typeof PRIMITIVES;

/** The definition of a recorded node's primitive (attributes are checked when the node was bound). */
export function primitiveOf(name: string): OpDef<unknown> {
  const def = (PRIMITIVES as Record<string, OpDef<never>>)[name];
  if (!def) throw new Error(`unknown primitive '${name}'`);
  return def as OpDef<unknown>;
}
