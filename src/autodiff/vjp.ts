// The reverse sweep: walks the recorded nodes backwards from the outputs, asks each primitive's VJP rule
// for input cotangents, sums them back to each input's shape after broadcasting and accumulates them.
// Only nodes on a path from a differentiated input to an output are visited, and rules are told which
// inputs need a gradient, so frozen weights cost no weight-gradient work.
import { ShapeError } from '../core/errors.js';
import { shapesEqual } from '../core/shape.js';
import type { Graph, Node, Value } from '../graph/index.js';
import * as F from '../ops/api.js';
import { primitiveOf } from '../ops/registry.js';

/** g summed over the axes along which `shape` was broadcast to g's shape, then reshaped to `shape`. */
export function sumToShape(g: Value, shape: readonly number[]): Value {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length > 0 ? F.sum(g, axes, true) : g;
  return F.reshape(summed, shape);
}

/** Values that depend on any of `wrt` (forward reachability), in one pass over the topological order. */
function dependents(graph: Graph, wrt: readonly Value[]): Set<Value> {
  const live = new Set<Value>(wrt);
  for (const node of graph.nodes) {
    if (node.op === 'Identity' && (node.attrs as { stopGradient: boolean }).stopGradient) continue;
    if (node.inputs.some((x) => live.has(x))) for (const y of node.outputs) live.add(y);
  }
  return live;
}

/** Nodes that some output depends on (backward reachability). */
function ancestors(outputs: readonly Value[]): Set<Node> {
  const seen = new Set<Node>();
  const stack = outputs.map((v) => v.node).filter((n): n is Node => n !== null);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    for (const x of node.inputs) if (x.node && !seen.has(x.node)) stack.push(x.node);
  }
  return seen;
}

/**
 * Reverse-mode VJP: given outputs and their cotangents, returns d⟨outputs, cotangents⟩/d wrt for each
 * value in `wrt`, or null where no output depends on it (PyTorch's `.grad is None`).
 */
export function vjp(
  outputs: readonly Value[],
  cotangents: readonly Value[],
  wrt: readonly Value[],
): (Value | null)[] {
  const graph = outputs[0]!.graph;
  const live = dependents(graph, wrt);
  const needed = ancestors(outputs);
  const ct = new Map<Value, Value>();
  const accumulate = (v: Value, g: Value): void => {
    const prev = ct.get(v);
    ct.set(v, prev ? F.add(prev, g) : g);
  };
  outputs.forEach((y, i) => {
    if (live.has(y)) accumulate(y, cotangents[i]!);
  });

  // Snapshot: the sweep appends gradient nodes to graph.nodes while it walks the forward ones.
  const forward = graph.nodes.slice();
  for (let n = forward.length - 1; n >= 0; n--) {
    const node = forward[n]!;
    if (!needed.has(node) || !node.outputs.some((y) => ct.has(y))) continue;
    const needs = node.inputs.map((x) => live.has(x));
    if (!needs.some(Boolean)) continue;
    const def = primitiveOf(node.op);
    if (def.vjp === 'none') continue;
    const rule = def.vjp;
    const grads = graph.withScope(`grad${node.scope ? `/${node.scope}` : ''}`, () =>
      rule(
        {
          inputs: node.inputs,
          outputs: node.outputs,
          cotangents: node.outputs.map((y) => ct.get(y) ?? null),
          attrs: node.attrs,
          needs,
        },
        F,
      ),
    );
    node.inputs.forEach((x, i) => {
      const g = grads[i];
      if (!needs[i] || !g) return;
      const reduced = graph.withScope('grad', () => sumToShape(g, x.shape));
      if (!shapesEqual(reduced.shape, x.shape) || reduced.dtype !== x.dtype) {
        throw new ShapeError(
          `${node.op} VJP`,
          node.scope,
          node.inputs.map((v) => v.shape),
          `cotangent ${reduced} does not match input ${i} ${x}`,
        );
      }
      accumulate(x, reduced);
    });
  }
  return wrt.map((w) => ct.get(w) ?? null);
}
