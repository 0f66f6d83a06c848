// Training losses as graph functions, so autodiff covers them (masam-spec §9.2): softmax cross-entropy,
// the official Dice loss (sums over all pixels of all images at once, class 0 included), and their mix.
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
  const k = logits.shape[1]!;
  const target = oneHot(labels, k);
  const logp = F.cast(F.logSoftmax(logits, 1), 'float64');
  const valid = F.sub(1, F.cast(F.equal(F.cast(labels, 'int64'), IGNORE_INDEX), 'float64'));
  const total = F.neg(F.sum(F.mul(target, logp)));
  return F.cast(F.div(total, F.sum(valid)), logits.dtype);
}

/**
 * Official Dice loss: p = softmax over classes, t = one-hot; per class c (background included)
 * dice_c = 1 − (2·Σ p_c·t_c + 1e-5) / (Σ p_c² + Σ t_c² + 1e-5), sums over every pixel of every image;
 * the loss is the mean over classes.
 */
export function diceLoss(logits: Value, labels: Value): Value {
  const k = logits.shape[1]!;
  const target = oneHot(labels, k);
  const p = F.cast(F.softmax(logits, 1), 'float64');
  const axes = logits.shape.map((_, i) => i).filter((i) => i !== 1);
  const intersection = F.sum(F.mul(p, target), axes); // [K]
  const predSq = F.sum(F.mul(p, p), axes);
  const targetSq = F.sum(F.mul(target, target), axes);
  const perClass = F.sub(
    1,
    F.div(F.add(F.mul(intersection, 2), DICE_SMOOTH), F.add(F.add(predSq, targetSq), DICE_SMOOTH)),
  );
  return F.cast(F.mean(perClass), logits.dtype);
}

export interface SegmentationLoss {
  readonly loss: Value;
  readonly ce: Value;
  readonly dice: Value;
}

/** (1 − w)·CE + w·Dice with the official w = 0.8 (spec §9.2). */
export function segmentationLoss(logits: Value, labels: Value, diceWeight = 0.8): SegmentationLoss {
  const ce = crossEntropy(logits, labels);
  const dice = diceLoss(logits, labels);
  return { loss: F.add(F.mul(ce, 1 - diceWeight), F.mul(dice, diceWeight)), ce, dice };
}
