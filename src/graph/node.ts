// Node: one application of a primitive — its name (= ONNX op_type where 1:1), inputs, outputs, attributes
// and the name scope it was traced in.
import type { Value } from './value.js';

export class Node {
  readonly outputs: Value[] = [];
  constructor(
    readonly id: number,
    readonly op: string,
    readonly inputs: readonly Value[],
    readonly attrs: unknown,
    readonly scope: string,
  ) {}
}
