// Tests for the affine helpers: orientation codes as nibabel's aff2axcodes names them, inverse, voxel sizes,
// polar factor and quaternion ↔ rotation conversions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatError } from '../core/errors.js';
import {
  type Mat3,
  aff2axcodes,
  affineMaxDiff,
  affineProblem,
  checkAffine,
  applyAffine,
  invertAffine,
  ioOrientation,
  mat2quat,
  multiplyAffines,
  nearestOrthonormal,
  quat2mat,
  toAffine,
  voxelSizes,
} from './geometry.js';
import { type Affine, IDENTITY_AFFINE } from './volume.js';

/** Rotation by `angle` about axis `axis` (0 = x, 1 = y, 2 = z). */
function rotation(axis: 0 | 1 | 2, angle: number): Mat3 {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  if (axis === 0) {
    return [
      [1, 0, 0],
      [0, c, -s],
      [0, s, c],
    ];
  }
  if (axis === 1) {
    return [
      [c, 0, s],
      [0, 1, 0],
      [-s, 0, c],
    ];
  }
  return [
    [c, -s, 0],
    [s, c, 0],
    [0, 0, 1],
  ];
}

function affineOf(m: Mat3, zooms: readonly number[], t: readonly number[]): Affine {
  return toAffine(
    [0, 1, 2].map((r) => [m[r]![0] * zooms[0]!, m[r]![1] * zooms[1]!, m[r]![2] * zooms[2]!, t[r]!]),
  );
}

describe('aff2axcodes', () => {
  it('names the identity RAS and the DICOM patient frame LPS', () => {
    assert.equal(aff2axcodes(IDENTITY_AFFINE), 'RAS');
    assert.equal(
      aff2axcodes(
        toAffine([
          [-1, 0, 0, 0],
          [0, -1, 0, 0],
          [0, 0, 1, 0],
        ]),
      ),
      'LPS',
    );
  });

  it('follows permuted and flipped axes as nibabel does', () => {
    // nibabel: aff2axcodes([[0,0,-2,0],[3,0,0,0],[0,-1,0,0],[0,0,0,1]]) == ('A', 'I', 'L')
    assert.equal(
      aff2axcodes(
        toAffine([
          [0, 0, -2, 0],
          [3, 0, 0, 0],
          [0, -1, 0, 0],
        ]),
      ),
      'AIL',
    );
  });

  it('picks the dominant world axis of an oblique affine and never repeats one', () => {
    const tilted = affineOf(rotation(2, 0.6), [0.5, 0.5, 3], [0, 0, 0]); // 34° about z
    assert.equal(aff2axcodes(tilted), 'RAS');
    const past45 = affineOf(rotation(2, 1.0), [1, 1, 1], [0, 0, 0]); // 57°: i now runs mostly along +y
    assert.equal(aff2axcodes(past45), 'ALS');
    // At 45° the greedy choice takes the larger component, then excludes that world axis (nibabel: RAS).
    assert.equal(aff2axcodes(affineOf(rotation(2, Math.PI / 4), [1, 1, 1], [0, 0, 0])), 'RAS');
  });

  it('ignores shear and anisotropic zooms when choosing axes', () => {
    assert.equal(
      aff2axcodes(
        toAffine([
          [2, 1.5, 0, 0],
          [0, 0.5, 0, 0],
          [0, 0, -4, 0],
        ]),
      ),
      'RAI',
    );
  });

  it('marks an axis with a zero column as unknown', () => {
    assert.equal(
      aff2axcodes(
        toAffine([
          [1, 0, 0, 0],
          [0, 0, 0, 0],
          [0, 0, 1, 0],
        ]),
      ),
      'R?S',
    );
    assert.equal(
      ioOrientation(
        toAffine([
          [1, 0, 0, 0],
          [0, 0, 0, 0],
          [0, 0, 1, 0],
        ]),
      )[1],
      null,
    );
  });
});

describe('affine arithmetic', () => {
  const a = affineOf(rotation(0, 0.3), [0.7, 0.8, 2.5], [10, -20, 30]);

  it('invertAffine undoes the affine on points and in products', () => {
    const inv = invertAffine(a);
    assert.ok(affineMaxDiff(multiplyAffines(a, inv), IDENTITY_AFFINE) < 1e-12);
    const xyz = applyAffine(a, [3, 4, 5]);
    applyAffine(inv, xyz).forEach((v, k) => {
      assert.ok(Math.abs(v - [3, 4, 5][k]!) < 1e-12);
    });
  });

  it('rejects a singular affine', () => {
    assert.throws(
      () =>
        invertAffine(
          toAffine([
            [1, 0, 0, 0],
            [0, 0, 0, 0],
            [0, 0, 1, 0],
          ]),
        ),
      /singular/,
    );
  });

  it('voxelSizes are the column lengths', () => {
    voxelSizes(a).forEach((z, k) => {
      assert.ok(Math.abs(z - [0.7, 0.8, 2.5][k]!) < 1e-12);
    });
  });

  it('toAffine rejects a matrix that is not 4×4 or 3×4', () => {
    assert.throws(() => toAffine([[1, 0, 0]]), /expected 4×4 or 3×4/);
  });
});

describe('rotations and quaternions', () => {
  it('mat2quat inverts quat2mat and returns w ≥ 0, also near 180°', () => {
    for (const [axis, angle] of [
      [0, 0.2],
      [1, -1.3],
      [2, 3.1],
      [0, Math.PI],
      [2, -Math.PI + 1e-9],
    ] as const) {
      const m = rotation(axis, angle);
      const q = mat2quat(m);
      assert.ok(q[0] >= 0, `w ${q[0]}`);
      assert.ok(Math.abs(Math.hypot(...q) - 1) < 1e-12);
      const back = quat2mat(q);
      for (let r = 0; r < 3; r++)
        for (let c = 0; c < 3; c++) assert.ok(Math.abs(back[r]![c]! - m[r]![c]!) < 1e-12);
    }
  });

  it('quat2mat of the zero quaternion is the identity', () => {
    assert.deepEqual(quat2mat([0, 0, 0, 0]), [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
  });

  it('nearestOrthonormal removes a small shear and leaves a rotation unchanged', () => {
    const r = rotation(1, 0.4);
    const same = nearestOrthonormal(r);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) assert.ok(Math.abs(same[i]![j]! - r[i]![j]!) < 1e-14);
    const sheared: Mat3 = [
      [1, 0.1, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
    const q = nearestOrthonormal(sheared);
    // QᵀQ = I
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const dot = q[0][i] * q[0][j] + q[1][i] * q[1][j] + q[2][i] * q[2][j];
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12);
      }
    }
    // The polar factor of [[1, s], [0, 1]] is a rotation by atan(s/2).
    assert.ok(Math.abs(q[0][1] - Math.sin(Math.atan(0.05))) < 1e-12);
  });
});

describe('impossible affines', () => {
  const withEntry = (r: number, c: number, v: number): Affine =>
    IDENTITY_AFFINE.map((row, i) => row.map((x, j) => (i === r && j === c ? v : x))) as unknown as Affine;

  it('affineProblem names non-finite entries, zero axes and singular parts, and accepts good ones', () => {
    assert.equal(affineProblem(IDENTITY_AFFINE), undefined);
    assert.match(affineProblem(withEntry(1, 3, Number.NaN))!, /non-finite entry \(NaN at row 1, column 3\)/);
    assert.match(affineProblem(withEntry(2, 2, Number.NEGATIVE_INFINITY))!, /non-finite/);
    assert.match(affineProblem(withEntry(1, 1, 0))!, /zero voxel axis/);
    // j and k along the same world direction: rank 2.
    assert.match(
      affineProblem(
        toAffine([
          [1, 0, 0, 0],
          [0, 1, 1, 0],
          [0, 0, 1e-9, 0],
        ]),
      )!,
      /singular/,
    );
    // Tiny voxels are fine: the test is relative to the voxel sizes.
    assert.equal(
      affineProblem(
        toAffine([
          [1e-6, 0, 0, 0],
          [0, 1e-6, 0, 0],
          [0, 0, 1e-6, 0],
        ]),
      ),
      undefined,
    );
  });

  it('checkAffine refuses with a FormatError naming the source; aff2axcodes names no axes for NaN', () => {
    assert.throws(
      () => checkAffine(withEntry(0, 0, Number.NaN), 'x.nii'),
      (e: unknown) =>
        e instanceof FormatError &&
        /^x\.nii: affine has a non-finite entry.*impossible geometry/.test(e.message),
    );
    assert.equal(checkAffine(IDENTITY_AFFINE, 'ok'), IDENTITY_AFFINE);
    assert.equal(aff2axcodes(withEntry(0, 0, Number.NaN)), '???');
  });
});
