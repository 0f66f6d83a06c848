// Training losses as graph functions, so autodiff covers them (masam-spec §9.2): softmax cross-entropy,
// the official Dice loss (sums over all pixels of all images at once, class 0 included), and their mix;
// the same loss through its sums, for exact micro-batching.
// Reductions run in float64: ~10⁵–10⁷ per-pixel terms summed in float32 drift past the parity tolerance.
import type { Value } from '../graph/index.js';
import * as F from '../ops/index.js';

/** PyTorch's CrossEntropyLoss ignore_index. */
export const IGNORE_INDEX = -100;
const DICE_SMOOTH = 1e-5;

/** One-hot targets [N, K, …] (float64) from labels [N, …]; ignored pixels get all zeros. */
export function oneHot(labels: Value, numClasses: number): Value {
  // labels [N, H, W] → [N, 1, H, W] == classes [1, K, 1, 1]
  const expanded = F.reshape(labels, [labels.shape[0]!, 1, ...labels.shape.slice(1)]);
  const classes = F.reshape(F.arange(numClasses, 'int64', labels), [
    1,
    numClasses,
    ...labels.shape.slice(1).map(() => 1),
  ]);
  return F.cast(F.equal(F.cast(expanded, 'int64'), classes), 'float64');
}

/** Mean over non-ignored pixels of −log softmax(logits)[label]; logits [N, K, …], labels [N, …] (integers). */
export function crossEntropy(logits: Value, labels: Value): Value {
  const s = lossSums(logits, labels); // the Dice sums it also declares are pruned at export when unused
  return F.cast(F.div(s.nll, s.valid), logits.dtype);
}

/**
 * The sums the official loss depends on, over every pixel of every image given (float64):
 * `nll` = Σ −log softmax(z)[label] and `valid` = the number of non-ignored pixels (CE = nll / valid);
 * per class c (background included) `intersection` I_c = Σ p_c·t_c, `predSq` Z_c = Σ p_c², `targetSq`
 * Y_c = Σ t_c² with p = softmax over classes and t = one-hot. Sums over disjoint micro-batches add up to the
 * batch's, which is what makes exact micro-batching possible (train/micro_batches.ts).
 */
export interface LossSums {
  readonly nll: Value;
  readonly valid: Value;
  readonly intersection: Value;
  readonly predSq: Value;
  readonly targetSq: Value;
}

export function lossSums(logits: Value, labels: Value): LossSums {
  const k = logits.shape[1]!;
  const target = oneHot(labels, k);
  const logp = F.cast(F.logSoftmax(logits, 1), 'float64');
  const valid = F.sub(1, F.cast(F.equal(F.cast(labels, 'int64'), IGNORE_INDEX), 'float64'));
  const p = F.cast(F.softmax(logits, 1), 'float64');
  const axes = logits.shape.map((_, i) => i).filter((i) => i !== 1);
  return {
    nll: F.neg(F.sum(F.mul(target, logp))),
    valid: F.sum(valid),
    intersection: F.sum(F.mul(p, target), axes), // [K]
    predSq: F.sum(F.mul(p, p), axes),
    targetSq: F.sum(F.mul(target, target), axes),
  };
}

/** Official Dice loss from its sums: mean over classes of 1 − (2·I_c + 1e-5) / (Z_c + Y_c + 1e-5). */
export function diceFromSums(s: Pick<LossSums, 'intersection' | 'predSq' | 'targetSq'>): Value {
  const perClass = F.sub(
    1,
    F.div(F.add(F.mul(s.intersection, 2), DICE_SMOOTH), F.add(F.add(s.predSq, s.targetSq), DICE_SMOOTH)),
  );
  return F.mean(perClass);
}

/** The official Dice loss of logits [N, K, …] against labels [N, …] (sums over every pixel of every image). */
export function diceLoss(logits: Value, labels: Value): Value {
  return F.cast(diceFromSums(lossSums(logits, labels)), logits.dtype);
}

export interface SegmentationLoss {
  readonly loss: Value;
  readonly ce: Value;
  readonly dice: Value;
}

/** (1 − w)·CE + w·Dice with the official w = 0.8 (spec §9.2). */
export function segmentationLoss(logits: Value, labels: Value, diceWeight = 0.8): SegmentationLoss {
  const s = lossSums(logits, labels);
  const ce = F.cast(F.div(s.nll, s.valid), logits.dtype);
  const dice = F.cast(diceFromSums(s), logits.dtype);
  return { loss: F.add(F.mul(ce, 1 - diceWeight), F.mul(dice, diceWeight)), ce, dice };
}

/** Host-side values of the sums for one batch (float64). */
export interface HostLossSums {
  nll: number;
  valid: number;
  intersection: Float64Array;
  predSq: Float64Array;
  targetSq: Float64Array;
}

/** Zero sums for K classes. */
export function emptySums(k: number): HostLossSums {
  return {
    nll: 0,
    valid: 0,
    intersection: new Float64Array(k),
    predSq: new Float64Array(k),
    targetSq: new Float64Array(k),
  };
}

/** Adds `s` into `into` (callers add in a fixed order, so totals do not depend on timing). */
export function addSums(into: HostLossSums, s: HostLossSums): void {
  into.nll += s.nll;
  into.valid += s.valid;
  for (let c = 0; c < s.intersection.length; c++) {
    into.intersection[c]! += s.intersection[c];
    into.predSq[c]! += s.predSq[c];
    into.targetSq[c]! += s.targetSq[c];
  }
}

/** The batch constants of the surrogate, and the batch loss computed from the sums. */
export interface SurrogateConstants {
  readonly ceScale: number;
  readonly a: Float64Array;
  readonly b: Float64Array;
  readonly loss: number;
  readonly ce: number;
  readonly dice: number;
}

/**
 * Constants of the micro-batch surrogate (docs: shared/docs/executor.md, "Exact gradients"): with the batch
 * sums fixed, L = (1 − w)·nll/valid + w·mean_c(1 − (2·I_c + ε)/S_c), S_c = Z_c + Y_c + ε, has
 * ∂L/∂nll = (1 − w)/valid, ∂L/∂I_c = −2w/(K·S_c), ∂L/∂Z_c = w·(2·I_c + ε)/(K·S_c²). A micro-batch's surrogate
 * ceScale·nll_m + Σ_c a_c·I_c^(m) + b_c·Z_c^(m) then has gradients that sum over micro-batches to ∇L.
 */
export function surrogateCoefficients(s: HostLossSums, diceWeight: number): SurrogateConstants {
  const k = s.intersection.length;
  const a = new Float64Array(k);
  const b = new Float64Array(k);
  let dice = 0;
  for (let c = 0; c < k; c++) {
    const sc = s.predSq[c]! + s.targetSq[c]! + DICE_SMOOTH;
    const num = 2 * s.intersection[c]! + DICE_SMOOTH;
    dice += 1 - num / sc;
    a[c] = (-2 * diceWeight) / (k * sc);
    b[c] = (diceWeight * num) / (k * sc * sc);
  }
  dice /= k;
  const ce = s.nll / s.valid;
  return {
    ceScale: (1 - diceWeight) / s.valid,
    a,
    b,
    ce,
    dice,
    loss: (1 - diceWeight) * ce + diceWeight * dice,
  };
}

/** The surrogate of one micro-batch as a graph value (float64), from its sums and the batch's constants. */
export function surrogateLoss(s: LossSums, ceScale: Value, a: Value, b: Value): Value {
  return F.add(F.mul(s.nll, ceScale), F.sum(F.add(F.mul(a, s.intersection), F.mul(b, s.predSq))));
}
