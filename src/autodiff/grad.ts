// grad / valueAndGrad: gradients of a scalar loss with respect to chosen values, appended to the same graph.
import { MasamError } from '../core/errors.js';
import type { Value } from '../graph/index.js';
import * as F from '../ops/api.js';
import { vjp } from './vjp.js';

/**
 * d loss / d wrt for each value in `wrt` (graph inputs, constants or intermediates). A null entry means
 * the loss does not depend on that value; callers decide whether that is zero or "no gradient".
 */
export function grad(loss: Value, wrt: readonly Value[]): (Value | null)[] {
  if (loss.rank !== 0) throw new MasamError(`grad: loss must be a scalar, got ${loss}`);
  if (loss.dtype !== 'float32' && loss.dtype !== 'float64')
    throw new MasamError(`grad: loss must be float, got ${loss.dtype}`);
  return vjp([loss], [F.scalar(1, loss)], wrt);
}

/** The loss together with its gradients (both are graph values; fetch them from one compiled graph). */
export function valueAndGrad(loss: Value, wrt: readonly Value[]): { value: Value; grads: (Value | null)[] } {
  return { value: loss, grads: grad(loss, wrt) };
}
