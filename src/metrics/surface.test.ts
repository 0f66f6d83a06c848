// Borders, the anisotropic EDT and the surface metrics on hand-made cases with known answers, against
// brute-force oracles on seeded random masks, and with the documented empty-mask values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../core/rng.js';
import type { LabelVolume } from './label_volume.js';
import {
  assd,
  border,
  directedSurfaceDistances,
  distanceTransform,
  hausdorff,
  hd95,
  nsd,
  percentile,
  surfaceDistances,
} from './surface.js';

/** A 3D volume with the listed voxels (i, j, k) set to `value`. */
function voxels(shape: number[], at: [number, number, number][], spacing?: number[], value = 1): LabelVolume {
  const data = new Uint8Array(shape[0]! * shape[1]! * shape[2]!);
  for (const [i, j, k] of at) data[i + shape[0]! * (j + shape[1]! * k)] = value;
  return spacing ? { data, shape, spacing } : { data, shape };
}

/** All (i, j, k) of the box [lo, hi] (inclusive). */
function cube(lo: [number, number, number], hi: [number, number, number]): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let k = lo[2]; k <= hi[2]; k++)
    for (let j = lo[1]; j <= hi[1]; j++) for (let i = lo[0]; i <= hi[0]; i++) out.push([i, j, k]);
  return out;
}

function randomMask(rng: Rng, shape: number[], density: number, spacing: number[]): LabelVolume {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(n);
  for (let p = 0; p < n; p++) data[p] = rng.uniform() < density ? 1 : 0;
  return { data, shape, spacing };
}

function coords(p: number, shape: number[]): [number, number, number] {
  const [n0, n1] = [shape[0]!, shape[1] ?? 1];
  return [p % n0, Math.floor(p / n0) % n1, Math.floor(p / (n0 * n1))];
}

/** O(n·sites) oracle: distance (mm) from each voxel to the nearest set voxel of `sites`. */
function bruteDistances(sites: ArrayLike<number>, shape: number[], spacing: number[]): Float64Array {
  const set: [number, number, number][] = [];
  for (let p = 0; p < sites.length; p++) if (sites[p]) set.push(coords(p, shape));
  const s = [spacing[0]!, spacing[1] ?? 1, spacing[2] ?? 1];
  return Float64Array.from({ length: sites.length }, (_, p) => {
    const [i, j, k] = coords(p, shape);
    let best = Infinity;
    for (const [a, b, c] of set) {
      const dx = (i - a) * s[0]!;
      const dy = (j - b) * s[1]!;
      const dz = (k - c) * s[2]!;
      best = Math.min(best, dx * dx + dy * dy + dz * dz);
    }
    return Math.sqrt(best);
  });
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let p = 0; p < actual.length; p++) {
    const a = actual[p]!;
    const e = expected[p]!;
    const ok = a === e || Math.abs(a - e) <= 1e-12 * Math.max(1, Math.abs(e));
    assert.ok(ok, `${what}[${p}]: ${a} vs ${e}`);
  }
}

const count = (m: Uint8Array): number => m.reduce((s, v) => s + v, 0);

describe('border extraction (MedPy: mask minus its face-connected erosion)', () => {
  it('a 3×3×3 cube inside the grid has 26 border voxels and an interior centre', () => {
    const b = border(voxels([5, 5, 5], cube([1, 1, 1], [3, 3, 3])));
    assert.equal(count(b), 26);
    assert.equal(b[2 + 5 * (2 + 5 * 2)], 0);
  });

  it('voxels on the grid edge are border: outside the grid counts as background', () => {
    const b = border(voxels([3, 3, 3], cube([0, 0, 0], [2, 2, 2])));
    assert.equal(count(b), 26);
  });

  it('the structuring element is the 6-neighbour cross, so missing diagonals do not make a border', () => {
    const cross: [number, number, number][] = [
      [2, 2, 2],
      [1, 2, 2],
      [3, 2, 2],
      [2, 1, 2],
      [2, 3, 2],
      [2, 2, 1],
      [2, 2, 3],
    ];
    const b = border(voxels([5, 5, 5], cross));
    assert.equal(count(b), 6);
    assert.equal(b[2 + 5 * (2 + 5 * 2)], 0);
  });

  it('2D and 1D grids erode only along their own axes', () => {
    const sq = new Uint8Array(25);
    for (const [i, j] of cube([1, 1, 0], [3, 3, 0])) sq[i + 5 * j] = 1;
    assert.equal(count(border({ data: sq, shape: [5, 5] })), 8);
    assert.deepEqual([...border({ data: Uint8Array.from([0, 1, 1, 1, 0]), shape: [5] })], [0, 1, 0, 1, 0]);
  });

  it('the label option selects one class of a label map', () => {
    const labels = voxels([5, 5, 5], cube([1, 1, 1], [3, 3, 3]), undefined, 2);
    assert.equal(count(border(labels, { label: 2 })), 26);
    assert.equal(count(border(labels, { label: 1 })), 0);
  });
});

describe('exact Euclidean distance transform with anisotropic spacing', () => {
  it('equals the brute-force nearest-site distance on seeded random 3D masks', () => {
    const rng = new Rng(7);
    for (const [shape, density] of [
      [[9, 7, 6], 0.05],
      [[5, 11, 8], 0.01],
      [[12, 3, 10], 0.3],
    ] as [number[], number][]) {
      const sites = randomMask(rng, shape, density, [0.7, 1.3, 2.5]);
      const want = bruteDistances(sites.data, shape, [0.7, 1.3, 2.5]);
      assertClose(distanceTransform(sites), want, `edt ${shape}`);
    }
  });

  it('works on 2D grids and returns squared distances on request', () => {
    const sites = randomMask(new Rng(3), [13, 9], 0.04, [0.5, 3]);
    const want = bruteDistances(sites.data, [13, 9], [0.5, 3]);
    assertClose(distanceTransform(sites), want, 'edt 2D');
    assertClose(
      distanceTransform(sites, { squared: true }),
      want.map((d) => d * d),
      'edt 2D squared',
    );
  });

  it('a single site gives the anisotropic distance, and no site gives +∞ everywhere', () => {
    const d = distanceTransform(voxels([6, 5, 7], [[1, 2, 3]], [0.5, 2, 3]));
    assert.equal(d[4 + 6 * (0 + 5 * 5)], Math.sqrt(1.5 ** 2 + 4 ** 2 + 6 ** 2));
    assert.ok(distanceTransform(voxels([4, 4, 4], [])).every((v) => v === Infinity));
  });
});

describe('surface distances, HD, HD95, ASSD and NSD', () => {
  const spacing = [0.5, 2, 3];
  const far = Math.sqrt(54.25); // (3·0.5)² + (2·2)² + (2·3)²

  it('two single voxels at a known anisotropic distance give that distance for HD, HD95 and ASSD', () => {
    const d = surfaceDistances(
      voxels([6, 5, 7], [[1, 2, 3]], spacing),
      voxels([6, 5, 7], [[4, 0, 5]], spacing),
    );
    assert.deepEqual([...d.predToGt], [far]);
    assert.deepEqual([...d.gtToPred], [far]);
    assert.equal(hausdorff(d), far);
    assert.equal(hd95(d), far);
    assert.equal(assd(d), far);
    assert.equal(nsd(d, 7.36), 0);
    assert.equal(nsd(d, 7.37), 1);
  });

  it('identical masks are at distance 0 with NSD 1', () => {
    const m = voxels([6, 6, 6], cube([1, 1, 1], [4, 3, 2]), spacing);
    const d = surfaceDistances(m, m);
    assert.deepEqual([hausdorff(d), hd95(d), assd(d), nsd(d, 0)], [0, 0, 0, 1]);
  });

  it('directed distances are one-sided, and HD95 ignores one outlier voxel that HD reports', () => {
    const body = cube([1, 1, 1], [3, 3, 3]);
    const gt = voxels([9, 5, 5], body, [1, 1, 1]);
    const pred = voxels([9, 5, 5], [...body, [8, 2, 2]], [1, 1, 1]);
    const d = surfaceDistances(pred, gt);
    assert.equal(d.predToGt.length, 27);
    assert.deepEqual(
      [...d.predToGt].filter((x) => x > 0),
      [5],
    ); // (8,2,2) → (3,2,2)
    assert.ok(d.gtToPred.every((x) => x === 0));
    assert.equal(hausdorff(d), 5);
    assert.equal(hd95(d), 0); // 53 values, 52 zeros: the 95th percentile sits among the zeros
    assert.equal(assd(d), 5 / 53);
    assert.equal(nsd(d, 1), 52 / 53);
    assert.deepEqual(directedSurfaceDistances(pred, gt), d.predToGt);
    assert.deepEqual(directedSurfaceDistances(gt, pred), d.gtToPred);
  });

  it('equal brute-force border-to-border distances on seeded random masks', () => {
    const rng = new Rng(11);
    const sp = [1.5, 0.8, 2.5];
    for (let t = 0; t < 4; t++) {
      const shape = [7 + t, 9, 6];
      const pred = randomMask(rng, shape, 0.3, sp);
      const gt = randomMask(rng, shape, 0.2, sp);
      const bp = border(pred);
      const bg = border(gt);
      const toG = bruteDistances(bg, shape, sp).filter((_, p) => bp[p] === 1);
      const toP = bruteDistances(bp, shape, sp).filter((_, p) => bg[p] === 1);
      const d = surfaceDistances(pred, gt);
      assertClose(d.predToGt, toG, `predToGt #${t}`);
      assertClose(d.gtToPred, toP, `gtToPred #${t}`);
    }
  });

  it('working inside the bounding box changes nothing: the same masks with a margin give the same values', () => {
    const rng = new Rng(5);
    const small = [6, 5, 4];
    const big = [15, 12, 9];
    const sp = [0.8, 0.8, 2.5];
    const embed = (m: LabelVolume): LabelVolume => {
      const data = new Uint8Array(big[0]! * big[1]! * big[2]!);
      m.data.forEach((v, p) => {
        const [i, j, k] = coords(p, small);
        data[i + 4 + big[0]! * (j + 3 + big[1]! * (k + 2))] = v;
      });
      return { data, shape: big, spacing: sp };
    };
    const pred = randomMask(rng, small, 0.5, sp);
    const gt = randomMask(rng, small, 0.5, sp);
    const inner = surfaceDistances(pred, gt);
    const outer = surfaceDistances(embed(pred), embed(gt));
    assert.deepEqual(outer, inner);
  });

  it('both masks empty: HD, HD95 and ASSD are NaN and NSD is 1', () => {
    const e = voxels([4, 4, 4], []);
    const d = surfaceDistances(e, e);
    assert.equal(d.predToGt.length + d.gtToPred.length, 0);
    assert.ok([hausdorff(d), hd95(d), assd(d)].every(Number.isNaN));
    assert.equal(nsd(d, 1), 1);
  });

  it('one mask empty: HD, HD95 and ASSD are NaN, NSD is 0, and the other side is at +∞', () => {
    const e = voxels([4, 4, 4], []);
    const m = voxels([4, 4, 4], [[1, 1, 1]]);
    for (const d of [surfaceDistances(e, m), surfaceDistances(m, e)]) {
      assert.ok([hausdorff(d), hd95(d), assd(d)].every(Number.isNaN));
      assert.equal(nsd(d, 100), 0);
    }
    assert.deepEqual([...surfaceDistances(m, e).predToGt], [Infinity]);
  });

  it('mismatched spacings are rejected', () => {
    const a = voxels([4, 4, 4], [[1, 1, 1]], [1, 1, 1]);
    const b = voxels([4, 4, 4], [[1, 1, 1]], [1, 1, 2]);
    assert.throws(() => surfaceDistances(a, b), /surfaceDistances: spacings differ/);
  });
});

describe('percentile (NumPy linear method)', () => {
  it('matches np.percentile to the last bit', () => {
    // np.percentile(v, 95) etc. with NumPy 2.4 (same 'linear' arithmetic as 1.24).
    assert.equal(percentile([1, 2, 3, 4, 10], 95), 8.799999999999999);
    assert.equal(percentile([0.1, 0.7, 0.3], 95), 0.6599999999999999);
    // NumPy interpolates from the nearer end: a + (b − a)·t would give 1.0550000000000002 here.
    assert.equal(percentile([1.1, 0.2], 95), 1.055);
    assert.equal(percentile([10, 4, 3, 2, 1], 50), 3);
    assert.equal(percentile([5], 95), 5);
    assert.equal(
      percentile(
        Array.from({ length: 21 }, (_, i) => 21 - i),
        95,
      ),
      20,
    );
    assert.equal(percentile([1, 2, 3, 4, 10], 100), 10);
    assert.equal(percentile([1, 2, 3, 4, 10], 0), 1);
  });

  it('is NaN for no values and rejects p outside [0, 100]', () => {
    assert.ok(Number.isNaN(percentile([], 95)));
    assert.throws(() => percentile([1], 101), /percentile/);
  });
});
