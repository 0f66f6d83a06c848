// Value: a symbolic tensor in a traced graph (dtype + static shape + the node that produces it).
import type { DType } from '../core/dtype.js';
import type { Shape } from '../core/shape.js';
import type { Graph } from './graph.js';
import type { Node } from './node.js';

/** How a value enters the graph when it is not computed by a node. */
export type ValueSource =
  | { kind: 'node'; node: Node; index: number }
  | { kind: 'input'; name: string }
  | { kind: 'constant'; name: string };

export class Value {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly source: ValueSource,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  /** The producing node, or null for graph inputs and constants. */
  get node(): Node | null {
    return this.source.kind === 'node' ? this.source.node : null;
  }

  toString(): string {
    return `Value#${this.id}<${this.dtype}[${this.shape.join(',')}]>`;
  }
}
