// bind: applies a primitive to values — runs its shape rule, records the node, returns the outputs.
import { ShapeError } from '../core/errors.js';
import type { Value } from '../graph/index.js';
import { MasamError } from '../core/errors.js';
import { type OpDef, RuleError } from './def.js';

export function bind<A>(op: OpDef<A>, inputs: readonly Value[], attrs: A): Value[] {
  const graph = inputs[0]?.graph;
  if (!graph) throw new MasamError(`${op.name}: needs at least one input value`);
  let types: ReturnType<OpDef<A>['shape']>;
  try {
    types = op.shape(inputs, attrs);
  } catch (err) {
    if (err instanceof RuleError) {
      throw new ShapeError(
        op.name,
        graph.scope,
        inputs.map((x) => x.shape),
        err.message,
      );
    }
    throw err;
  }
  return graph.addNode(op.name, inputs, attrs, types);
}

/** bind for single-output primitives. */
export function bind1<A>(op: OpDef<A>, inputs: readonly Value[], attrs: A): Value {
  return bind(op, inputs, attrs)[0]!;
}
