// Composites: functions built only from primitives, so autodiff covers them without rules of their own.
// Tests tie each promoted primitive (Softmax, LayerNormalization) to its composite here.
import type { Value } from '../graph/index.js';
import * as F from './api.js';

/**
 * Exact GELU: 0.5·x·(1 + erf(x/√2)) (SAM never uses the tanh approximation). Written in the node order
 * ONNX Runtime's GeluFusion recognises (Div by √2, Erf, Add 1, Mul x·0.5), so ORT runs one Gelu kernel.
 */
export function gelu(x: Value): Value {
  return F.mul(F.mul(x, 0.5), F.add(F.erf(F.div(x, Math.SQRT2)), 1));
}

/** Numerically stable softmax; the max is detached (it cancels mathematically). */
export function softmaxComposite(x: Value, axis = -1): Value {
  const shifted = F.sub(x, F.stopGradient(F.max(x, [axis], true)));
  const e = F.exp(shifted);
  return F.div(e, F.sum(e, [axis], true));
}

export function logSoftmaxComposite(x: Value, axis = -1): Value {
  const shifted = F.sub(x, F.stopGradient(F.max(x, [axis], true)));
  return F.sub(shifted, F.log(F.sum(F.exp(shifted), [axis], true)));
}

/** LayerNorm over the last axis with biased variance, as torch.nn.LayerNorm. */
export function layerNormComposite(x: Value, scale: Value, bias: Value, epsilon: number): Value {
  const xc = F.sub(x, F.mean(x, [-1], true));
  const variance = F.mean(F.mul(xc, xc), [-1], true);
  return F.add(F.mul(F.div(xc, F.sqrt(F.add(variance, epsilon))), scale), bias);
}

/**
 * Scaled dot-product attention: softmax(q·kᵀ·scale + bias)·v over [..., Nq, C] × [..., Nk, C].
 * `bias` (e.g. SAM's decomposed relative positions) is added to the scaled logits.
 */
export function scaledDotProductAttention(
  q: Value,
  k: Value,
  v: Value,
  options: { scale?: number; bias?: Value } = {},
): Value {
  const c = q.shape[q.rank - 1]!;
  const perm = k.shape.map((_, i) => i);
  [perm[k.rank - 2], perm[k.rank - 1]] = [perm[k.rank - 1]!, perm[k.rank - 2]!];
  let logits = F.mul(F.matmul(q, F.transpose(k, perm)), options.scale ?? 1 / Math.sqrt(c));
  if (options.bias) logits = F.add(logits, options.bias);
  return F.matmul(F.softmax(logits, -1), v);
}

/**
 * Training-mode dropout. `noise` holds uniform [0, 1) draws of x's shape, fed by the caller from its own
 * seeded Rng each step: the graph stays deterministic (resumable, checkable), and the seed is explicit.
 * Keeps x where noise ≥ p, scaled by 1/(1−p).
 */
export function dropout(x: Value, noise: Value, p: number): Value {
  if (p <= 0) return x;
  const keep = F.sub(1, F.cast(F.less(noise, p), x.dtype));
  return F.mul(x, F.mul(keep, 1 / (1 - p)));
}
