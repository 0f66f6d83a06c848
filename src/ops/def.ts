// The primitive contract: one object per primitive bundling its shape rule, its ONNX emission and its
// vector-Jacobian product (JAX's primitive rules, PyTorch's derivatives.yaml). See docs/ADDING_AN_OP.md.
import type { DType } from '../core/dtype.js';
import type { TypeInfo, Value } from '../graph/index.js';
import type * as Api from './api.js';

/** The ops API handed to VJP rules (type-only, so op files never import each other at run time). */
export type OpsApi = typeof Api;

/** A typed ONNX attribute. */
export type OnnxAttr =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly string: string };

export const int = (v: number): OnnxAttr => ({ int: v });
export const ints = (v: readonly number[]): OnnxAttr => ({ ints: v });
export const float = (v: number): OnnxAttr => ({ float: v });
export const str = (v: string): OnnxAttr => ({ string: v });

/** What `emit` may write; implemented by onnx/export.ts. */
export interface Emitter {
  /** Appends an ONNX node. */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs?: Record<string, OnnxAttr>,
  ): void;
  /** Name of a 1-D int64 initializer holding `values` (shape, axes, pads, … inputs). */
  int64(values: readonly number[]): string;
  /** Name of a scalar initializer of `dtype`. */
  scalar(value: number, dtype: DType): string;
  /** A fresh name for an intermediate result. */
  temp(): string;
}

export interface EmitContext<A> {
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: A;
  readonly inputTypes: readonly TypeInfo[];
  readonly outputTypes: readonly TypeInfo[];
}

export interface VjpContext<A> {
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  /** Cotangent of each output (null: no gradient flows into that output). */
  readonly cotangents: readonly (Value | null)[];
  readonly attrs: A;
  /** Which inputs need a gradient: rules skip the others, so frozen weights cost no work. */
  readonly needs: readonly boolean[];
}

/** Returns one cotangent per input (null where not needed or not differentiable). Cotangents may have the
 * broadcast output shape: the engine sums them back to the input shape. */
export type VjpRule<A> = (ctx: VjpContext<A>, F: OpsApi) => readonly (Value | null)[];

export interface OpDef<A> {
  /** Primitive name; equals the ONNX op_type when the mapping is 1:1. */
  readonly name: string;
  /** Validates inputs and attributes (throw RuleError with the problem) and returns the output types. */
  shape(inputs: readonly TypeInfo[], attrs: A): readonly TypeInfo[];
  emit(e: Emitter, ctx: EmitContext<A>): void;
  /** 'none' marks a primitive that is not differentiable (comparisons, casts to integers, …). */
  readonly vjp: VjpRule<A> | 'none';
}

/** A broken shape/dtype rule; `bind` wraps it into a ShapeError naming op, scope and input shapes. */
export class RuleError extends Error {
  override name = 'RuleError';
}
