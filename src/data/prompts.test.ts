// Tests of the box-prompted variant's prompts (prompts.ts): tight boxes with exclusive upper edges, SAM's
// box noise, point slots and the nearest-slice rule for slices without a prompt.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../core/rng.js';
import { EMPTY_POINT, foregroundBox, jitterBox, stackPrompts, trainingPrompts } from './prompts.js';

const S = 16;

/** A [D, S, S] label stack with class `cls` on rows r1..r2, columns c1..c2 (inclusive) of slice t. */
function labelStack(depth: number, blocks: [number, number, number, number, number, number][]): Uint8Array {
  const out = new Uint8Array(depth * S * S);
  for (const [t, r1, c1, r2, c2, cls] of blocks)
    for (let r = r1; r <= r2; r++) for (let c = c1; c <= c2; c++) out[t * S * S + r * S + c] = cls;
  return out;
}

describe('foregroundBox', () => {
  it('is [x1, y1, x2, y2] with x = column, y = row and exclusive upper edges, over every class', () => {
    const label = labelStack(1, [
      [0, 3, 5, 4, 6, 1],
      [0, 9, 2, 9, 2, 2],
    ]);
    assert.deepEqual(foregroundBox(label, S), [2, 3, 7, 10]);
    assert.deepEqual(foregroundBox(labelStack(1, [[0, 7, 7, 7, 7, 1]]), S), [7, 7, 8, 8]);
    assert.equal(foregroundBox(new Uint8Array(S * S), S), null);
  });

  it('reads the plane at an offset', () => {
    const label = labelStack(2, [[1, 0, 0, 1, 15, 1]]);
    assert.equal(foregroundBox(label, S, 0), null);
    assert.deepEqual(foregroundBox(label, S, S * S), [0, 0, 16, 2]);
  });
});

describe('jitterBox', () => {
  it('moves each edge by at most 20 px at 1024 (scaled), stays in the image and never inverts', () => {
    const rng = new Rng(3);
    const size = 512;
    const limit = (20 * size) / 1024;
    let moved = 0;
    for (let n = 0; n < 2000; n++) {
      const box = [100, 200, 300, 260] as const;
      const j = jitterBox(box, size, rng);
      j.forEach((v, i) => {
        assert.ok(Math.abs(v - box[i]!) <= limit + 1e-9, `edge ${i} moved ${v - box[i]!}`);
        if (v !== box[i]) moved++;
      });
      assert.ok(j[2] - j[0] >= 1 && j[3] - j[1] >= 1);
    }
    assert.ok(moved > 7000, 'the noise moves edges');
    // A one-pixel box at the border stays inside [0, S] and at least 1 px.
    for (let n = 0; n < 200; n++) {
      const j = jitterBox([15, 15, 16, 16], S, rng);
      assert.ok(j.every((v) => v >= 0 && v <= S));
      assert.ok(j[2] - j[0] >= 1 && j[3] - j[1] >= 1);
    }
  });

  it('has the std of 10 % of the side for small boxes (no clipping)', () => {
    const rng = new Rng(5);
    const xs: number[] = [];
    for (let n = 0; n < 4000; n++) xs.push(jitterBox([40, 40, 60, 80], 1024, rng)[0] - 40);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    assert.ok(Math.abs(mean) < 0.1, `mean ${mean}`);
    assert.ok(Math.abs(std - 2) < 0.1, `std ${std} (expected 10 % of 20 px)`);
  });
});

describe('stackPrompts', () => {
  it('gives unprompted slices the nearest prompted box (earlier on ties) and no points', () => {
    const a = { box: [1, 2, 3, 4] as const, points: [{ x: 2, y: 3, label: 1 as const }] };
    const b = { box: [5, 6, 7, 8] as const, points: [] };
    const sp = stackPrompts([null, a, null, b, null], { points: 2 });
    assert.deepEqual(Array.from(sp.boxes), [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 5, 6, 7, 8]);
    assert.deepEqual(Array.from(sp.pointLabels), [-1, -1, 1, -1, -1, -1, -1, -1, -1, -1]);
    assert.deepEqual(Array.from(sp.pointCoords.subarray(4, 6)), [2, 3]);
  });

  it('rejects a stack without prompts and more points than slots', () => {
    assert.throws(() => stackPrompts([null, null, null], { points: 0 }), /no slice of the stack/);
    const p = { x: 1, y: 1, label: 1 as const };
    assert.throws(() => stackPrompts([{ box: [0, 0, 1, 1], points: [p, p] }], { points: 1 }), /at most 1/);
  });
});

describe('trainingPrompts', () => {
  const label = labelStack(5, [
    [1, 4, 4, 8, 10, 1],
    [2, 5, 6, 7, 7, 2],
  ]);

  it('boxes are the jittered tight boxes; slices without foreground borrow the nearest box', () => {
    const sp = trainingPrompts(label, 5, S, { points: 0 }, new Rng(1));
    const box = (t: number) => Array.from(sp.boxes.subarray(t * 4, t * 4 + 4));
    const limit = (20 * S) / 1024;
    for (const [i, v] of box(1).entries()) assert.ok(Math.abs(v - [4, 4, 11, 9][i]!) <= limit);
    for (const [i, v] of box(2).entries()) assert.ok(Math.abs(v - [6, 5, 8, 8][i]!) <= limit);
    assert.deepEqual(box(0), box(1));
    assert.deepEqual(box(3), box(2));
    assert.deepEqual(box(4), box(2));
    assert.equal(sp.pointLabels.length, 0);
  });

  it('fills point slots with foreground points, background points inside the box, or nothing', () => {
    const rng = new Rng(9);
    const seen = { fg: 0, bg: 0, empty: 0, wholeImage: 0 };
    for (let n = 0; n < 300; n++) {
      const sp = trainingPrompts(label, 5, S, { points: 3 }, rng);
      for (const t of [1, 2]) {
        const box = sp.boxes.subarray(t * 4, t * 4 + 4);
        if (box[0] === 0 && box[1] === 0 && box[2] === S && box[3] === S) seen.wholeImage++;
        for (let k = 0; k < 3; k++) {
          const l = sp.pointLabels[t * 3 + k]!;
          const [x, y] = [sp.pointCoords[(t * 3 + k) * 2]!, sp.pointCoords[(t * 3 + k) * 2 + 1]!];
          if (l === EMPTY_POINT) seen.empty++;
          else if (l === 1) {
            seen.fg++;
            assert.ok(label[t * S * S + y * S + x]! > 0, 'a foreground point lies on the label');
          } else {
            seen.bg++;
            assert.equal(label[t * S * S + y * S + x], 0, 'a background point lies off the label');
          }
        }
      }
      for (const t of [0, 3, 4])
        for (let k = 0; k < 3; k++) assert.equal(sp.pointLabels[t * 3 + k], EMPTY_POINT);
    }
    assert.ok(seen.fg > 300 && seen.bg > 300 && seen.empty > 700, JSON.stringify(seen));
    assert.ok(seen.wholeImage > 40 && seen.wholeImage < 200, JSON.stringify(seen));
  });

  it('is a pure function of the rng', () => {
    const a = trainingPrompts(label, 5, S, { points: 2 }, new Rng(4));
    const b = trainingPrompts(label, 5, S, { points: 2 }, new Rng(4));
    assert.deepEqual(a, b);
  });
});
