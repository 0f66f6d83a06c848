// MatMul: numpy matmul semantics for rank ≥ 2 (batch dimensions broadcast). VJPs: g·Bᵀ and Aᵀ·g, summed
// back over broadcast batch dimensions by the engine.
import { broadcastShapes, formatShape } from '../core/shape.js';
import type { Value } from '../graph/index.js';
import { type OpDef, type OpsApi, RuleError } from './def.js';
import type { NoAttrs } from './elementwise.js';

function swapLast2(x: Value, F: OpsApi): Value {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return F.transpose(x, perm);
}

export const MatMul: OpDef<NoAttrs> = {
  name: 'MatMul',
  shape: ([a, b]) => {
    if (a!.dtype !== b!.dtype) throw new RuleError(`dtypes differ (${a!.dtype}, ${b!.dtype})`);
    if (a!.shape.length < 2 || b!.shape.length < 2) throw new RuleError('both inputs need rank ≥ 2');
    const [m, k] = a!.shape.slice(-2) as [number, number];
    const [k2, n] = b!.shape.slice(-2) as [number, number];
    if (k !== k2) throw new RuleError(`contracted sizes differ (${k} vs ${k2})`);
    const batch = broadcastShapes(a!.shape.slice(0, -2), b!.shape.slice(0, -2));
    if (!batch) {
      throw new RuleError(
        `batch dims ${formatShape(a!.shape.slice(0, -2))} and ${formatShape(b!.shape.slice(0, -2))} do not broadcast`,
      );
    }
    return [{ dtype: a!.dtype, shape: [...batch, m, n] }];
  },
  emit: (e, { inputs, outputs }) => e.node('MatMul', inputs, outputs),
  vjp: ({ cotangents: [g], inputs: [a, b], needs }, F) => [
    needs[0] ? F.matmul(g!, swapLast2(b!, F)) : null,
    needs[1] ? F.matmul(swapLast2(a!, F), g!) : null,
  ],
};
