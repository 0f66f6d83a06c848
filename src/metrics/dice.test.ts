// Dice and IoU on small hand-made volumes, and the official empty-mask table of masam-spec §10.3.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MasamError } from '../core/errors.js';
import { classOverlapCounts, dice, dicePerClass, iou, officialDice, overlapCounts } from './dice.js';
import type { LabelVolume } from './label_volume.js';

/** A [4, 3, 2] volume from 24 labels listed i fastest. */
function vol(labels: number[]): LabelVolume {
  assert.equal(labels.length, 24);
  return { data: Uint8Array.from(labels), shape: [4, 3, 2] };
}

const zeros = (): number[] => new Array<number>(24).fill(0);
function withLabels(at: Record<number, number>): LabelVolume {
  const l = zeros();
  for (const [p, v] of Object.entries(at)) l[Number(p)] = v;
  return vol(l);
}

describe('plain Dice and IoU', () => {
  it('dice is 2|A∩G|/(|A|+|G|) and iou |A∩G|/|A∪G| on binary masks', () => {
    const a = withLabels({ 0: 1, 1: 1, 2: 1, 5: 1 }); // |A| = 4
    const g = withLabels({ 1: 1, 2: 1, 7: 1 }); // |G| = 3, |A∩G| = 2
    assert.deepEqual(overlapCounts(a, g), { pred: 4, gt: 3, intersection: 2 });
    assert.equal(dice(a, g), 4 / 7);
    assert.equal(iou(a, g), 2 / 5);
  });

  it('any non-zero label counts as foreground in the plain metrics', () => {
    const a = withLabels({ 0: 3, 1: 7 });
    const g = withLabels({ 0: 1, 1: 1 });
    assert.equal(dice(a, g), 1);
  });

  it('plain dice and iou are NaN when both masks are empty', () => {
    assert.ok(Number.isNaN(dice(vol(zeros()), vol(zeros()))));
    assert.ok(Number.isNaN(iou(vol(zeros()), vol(zeros()))));
  });

  it('int16 and int32 label maps give the same counts as uint8', () => {
    const l = zeros();
    l[3] = 2;
    l[4] = 2;
    const g = withLabels({ 3: 2 });
    const a16: LabelVolume = { data: Int16Array.from(l), shape: [4, 3, 2] };
    const a32: LabelVolume = { data: Int32Array.from(l), shape: [4, 3, 2] };
    assert.equal(dice(a16, g), 2 / 3);
    assert.deepEqual(dicePerClass(a32, g, 2), [1, 2 / 3]);
  });
});

describe('Dice per class with the official empty-mask table (spec 10.3)', () => {
  // Class 1: both present; 2: pred only; 3: gt only; 4: neither.
  const pred = withLabels({ 0: 1, 1: 1, 2: 2 });
  const gt = withLabels({ 1: 1, 9: 3 });

  it('non-empty pred and gt give MedPy dc', () => {
    assert.equal(dicePerClass(pred, gt, [1])[0], 2 / 3);
  });

  it('non-empty pred with empty gt gives 0', () => {
    assert.equal(dicePerClass(pred, gt, [2])[0], 0);
  });

  it('empty pred with non-empty gt gives 0', () => {
    assert.equal(dicePerClass(pred, gt, [3])[0], 0);
  });

  it('empty pred with empty gt gives 1', () => {
    assert.equal(dicePerClass(pred, gt, [4])[0], 1);
    assert.equal(officialDice({ pred: 0, gt: 0, intersection: 0 }), 1);
  });

  it('a class count C scores classes 1..C in order, background excluded', () => {
    assert.deepEqual(dicePerClass(pred, gt, 4), [2 / 3, 0, 0, 1]);
  });

  it('an explicit class list is scored in the given order, and counts ignore other labels', () => {
    assert.deepEqual(dicePerClass(pred, gt, [4, 1]), [1, 2 / 3]);
    assert.deepEqual(classOverlapCounts(pred, gt, [0, 1]), [
      { pred: 21, gt: 22, intersection: 20 },
      { pred: 2, gt: 1, intersection: 1 },
    ]);
  });

  it('mismatched shapes, short data and bad class ids are rejected with the op named', () => {
    const other: LabelVolume = { data: new Uint8Array(24), shape: [2, 3, 4] };
    assert.throws(
      () => dicePerClass(pred, other, 1),
      (e: unknown) => {
        return (
          e instanceof MasamError &&
          /classOverlapCounts: shapes differ.*\[4, 3, 2\].*\[2, 3, 4\]/.test(e.message)
        );
      },
    );
    assert.throws(
      () => dice({ data: new Uint8Array(5), shape: [2, 3] }, { data: new Uint8Array(5), shape: [2, 3] }),
      /5 elements/,
    );
    assert.throws(() => dicePerClass(pred, gt, [1.5]), /class id 1.5/);
  });
});
