// Tests of user prompts (prompts.ts): a voxel box lands on the model plane exactly where training derives
// the box of a label of that extent (official orientation + nearest zoom), points land on their voxel, and
// malformed prompts files get errors naming the file and the entry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { foregroundBox } from '../data/prompts.js';
import { extractSlice } from '../data/slices.js';
import { zoomToShape } from '../data/zoom.js';
import { volumePrompts } from './prompts.js';

/** The box training would derive for a label volume [nx, ny, nz] marking voxels i1..i2, j1..j2 on slice k. */
function trainingBox(nx: number, ny: number, size: number, i: [number, number], j: [number, number]) {
  const data = new Uint8Array(nx * ny);
  for (let jj = j[0]; jj <= j[1]; jj++) for (let ii = i[0]; ii <= i[1]; ii++) data[ii + nx * jj] = 1;
  const plane = extractSlice({ shape: [nx, ny, 1], data }, 0); // official orientation [ny, nx]
  const zoomed = nx === size && ny === size ? plane : zoomToShape(plane, [size, size], { order: 0 });
  return foregroundBox(zoomed.data, size);
}

describe('volumePrompts', () => {
  const cases: [number, number, number][] = [
    [40, 30, 64],
    [64, 64, 64],
    [100, 90, 32],
  ];
  for (const [nx, ny, size] of cases) {
    it(`maps a voxel box to the training box of that label extent (${nx}×${ny} → ${size})`, () => {
      for (const [i, j] of [
        [
          [5, 12],
          [3, 20],
        ],
        [
          [0, nx - 1],
          [ny - 2, ny - 1],
        ],
        [
          [7, 7],
          [9, 9],
        ],
      ] as [number, number][][]) {
        const prompts = volumePrompts(
          { box3d: [i[0], j[0], 1, i[1], j[1], 2] },
          { nx, ny, nz: 4, nc: 1 },
          size,
          { points: 0 },
          'p.json',
        );
        const expected = trainingBox(nx, ny, size, i as [number, number], j as [number, number]);
        if (expected) assert.deepEqual(prompts[1]?.box, expected, `box ${i} ${j}`);
        assert.deepEqual(prompts[2]?.box, prompts[1]?.box);
        assert.equal(prompts[0], null);
        assert.equal(prompts[3], null);
      }
    });
  }

  it('puts a point on the model pixel of its voxel; points alone get the whole image as box', () => {
    const [nx, ny, size] = [40, 30, 64];
    const prompts = volumePrompts(
      {
        points: [
          { voxel: [10, 4, 0], label: 1 },
          { voxel: [30, 25, 0], label: 0 },
        ],
      },
      { nx, ny, nz: 1, nc: 1 },
      size,
      { points: 2 },
      'p.json',
    );
    const slice = prompts[0]!;
    assert.deepEqual(slice.box, [0, 0, size, size]);
    for (const [n, [i, j]] of [
      [10, 4],
      [30, 25],
    ].entries()) {
      const expected = trainingBox(nx, ny, size, [i!, i!], [j!, j!])!;
      const pt = slice.points[n]!;
      assert.ok(pt.x >= expected[0] && pt.x < expected[2], `x ${pt.x} in ${expected}`);
      assert.ok(pt.y >= expected[1] && pt.y < expected[3], `y ${pt.y} in ${expected}`);
    }
    assert.deepEqual(
      slice.points.map((p) => p.label),
      [1, 0],
    );
  });

  it('combines per-slice boxes and points', () => {
    const prompts = volumePrompts(
      { boxes: [{ slice: 2, box: [1, 1, 5, 5] }], points: [{ voxel: [3, 3, 2], label: 1 }] },
      { nx: 8, ny: 8, nz: 3, nc: 1 },
      8,
      { points: 1 },
      'p.json',
    );
    assert.deepEqual(prompts[2], { box: [2, 2, 7, 7], points: [{ x: 4, y: 4, label: 1 }] });
  });

  it('rejects malformed prompts, naming the file and the entry', () => {
    const dims = { nx: 8, ny: 8, nz: 3, nc: 1 as const };
    const bad: [unknown, RegExp][] = [
      [[1, 2], /p\.json: expected an object/],
      [{ box: [1] }, /p\.json: unknown key\(s\) "box"/],
      [{}, /p\.json: no prompts/],
      [{ box3d: [0, 0, 0, 8, 1, 1] }, /box3d i2 8 is not a voxel index in 0\.\.7/],
      [{ box3d: [3, 0, 0, 1, 1, 1] }, /lower corner after upper corner/],
      [{ box3d: [0, 0, 2, 1, 1, 1] }, /k1 after k2/],
      [{ boxes: [{ slice: 5, box: [0, 0, 1, 1] }] }, /boxes\[0\]\.slice 5/],
      [{ boxes: [{ slice: 0, box: [0, 0, 1] }] }, /boxes\[0\]\.box must be an array of 4/],
      [
        {
          box3d: [0, 0, 0, 1, 1, 1],
          boxes: [{ slice: 1, box: [0, 0, 1, 1] }],
        },
        /boxes\[0\]: slice 1 already has a box/,
      ],
      [{ points: [{ voxel: [0, 0, 0], label: 2 }] }, /points\[0\]\.label must be 1/],
      [{ points: [{ voxel: [0, 0.5, 0], label: 1 }] }, /points\[0\] j 0\.5/],
      [
        {
          points: [
            { voxel: [0, 0, 0], label: 1 },
            { voxel: [1, 1, 0], label: 1 },
          ],
        },
        /slice 0 has 2 points, but the model takes at most 1/,
      ],
    ];
    for (const [json, re] of bad)
      assert.throws(() => volumePrompts(json, dims, 8, { points: 1 }, 'p.json'), re);
    assert.throws(
      () => volumePrompts({ points: [{ voxel: [0, 0, 0], label: 1 }] }, dims, 8, { points: 0 }, 'p.json'),
      /p\.json: the model was trained with boxes only/,
    );
  });
});
