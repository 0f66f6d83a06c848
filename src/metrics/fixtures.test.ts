// Every case of shared/fixtures/metrics/cases.json (SciPy/NumPy float64 reference values): Dice, HD95,
// ASSD, HD and NSD at 1 and 2 mm, through the metric functions and through evaluateCase.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fixturePath } from '../../test/fixtures.js';
import { dice, dicePerClass } from './dice.js';
import type { LabelVolume } from './label_volume.js';
import { evaluateCase, nsdKey } from './report.js';
import { type MaskOptions, assd, hausdorff, hd95, nsd, surfaceDistances } from './surface.js';

type Expected = Readonly<Record<string, number>>;
interface FixtureCase {
  name: string;
  shape_zyx: [number, number, number];
  spacing_zyx_mm: [number, number, number];
  pred_file: string;
  gt_file: string;
  binary?: Expected;
  per_class?: Readonly<Record<string, Expected>>;
}

const spec = JSON.parse(readFileSync(fixturePath('metrics', 'cases.json'), 'utf8')) as {
  layout: string;
  cases: FixtureCase[];
};

/** The .u8 files are C order [z][y][x], i.e. x fastest: our layout with shape and spacing reversed. */
function load(c: FixtureCase, file: string): LabelVolume {
  const data = new Uint8Array(readFileSync(fixturePath('metrics', file)));
  return { data, shape: [...c.shape_zyx].reverse(), spacing: [...c.spacing_zyx_mm].reverse() };
}

/**
 * float64 tolerance: the same nearest border voxels are found, but per-axis squares are summed in a
 * different order than SciPy's and ASSD sums thousands of terms sequentially (NumPy sums pairwise), so
 * a few ulps per distance and ~n·ε on a mean: 1e-12 relative is ample and still catches any wrong
 * voxel (one voxel changes these values by ≥ 1e-4).
 */
const TOL = 1e-12;

function close(actual: number, expected: number, what: string): void {
  const err = Math.abs(actual - expected);
  assert.ok(err <= TOL * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected} (|Δ| = ${err})`);
}

/** Our metric name for a fixture key ('nsd@1.0' → 'nsd@1mm'). */
function keyOf(fixtureKey: string): string {
  const m = /^nsd@(.+)$/.exec(fixtureKey);
  return m ? nsdKey(Number(m[1])) : fixtureKey;
}

function check(
  pred: LabelVolume,
  gt: LabelVolume,
  expected: Expected,
  opts: MaskOptions,
  what: string,
): void {
  const d = surfaceDistances(pred, gt, opts);
  const got: Record<string, number> = { hd95: hd95(d), assd: assd(d), hd: hausdorff(d) };
  for (const [key, want] of Object.entries(expected)) {
    const m = /^nsd@(.+)$/.exec(key);
    if (m) got[key] = nsd(d, Number(m[1]));
    assert.ok(key in got || key === 'dice', `${what}: fixture metric '${key}' is not checked`);
    if (key !== 'dice') close(got[key]!, want, `${what} ${key}`);
  }
}

describe('metrics against the SciPy fixture cases', () => {
  it('reads the fixture in its documented layout', () => {
    assert.equal(spec.layout, 'uint8 raw, C order [z][y][x]');
    assert.equal(spec.cases.length, 4);
  });

  for (const c of spec.cases) {
    const pred = load(c, c.pred_file);
    const gt = load(c, c.gt_file);
    if (c.binary) {
      const expected = c.binary;
      it(`${c.name}: Dice, HD95, ASSD, HD and NSD at 1 and 2 mm match the reference`, () => {
        close(dice(pred, gt), expected['dice']!, `${c.name} dice`);
        close(dicePerClass(pred, gt, [1])[0]!, expected['dice']!, `${c.name} dicePerClass`);
        check(pred, gt, expected, {}, c.name);
      });
    }
    if (c.per_class) {
      const perClass = c.per_class;
      it(`${c.name}: every class matches the reference for every metric`, () => {
        const classes = Object.keys(perClass).map(Number);
        const dices = dicePerClass(pred, gt, classes);
        classes.forEach((cls, i) => {
          const expected = perClass[String(cls)]!;
          close(dices[i]!, expected['dice']!, `${c.name} class ${cls} dice`);
          check(pred, gt, expected, { label: cls }, `${c.name} class ${cls}`);
        });
      });
    }
    it(`${c.name}: evaluateCase reports the reference values in its rows`, () => {
      const expected = c.per_class ?? { '1': c.binary! };
      const rows = evaluateCase(c.name, pred, gt, { classes: Object.keys(expected).map(Number) });
      for (const row of rows) {
        for (const [key, want] of Object.entries(expected[String(row.classId)]!)) {
          close(row.values[keyOf(key)]!, want, `${c.name} class ${row.classId} ${key}`);
        }
      }
    });
  }
});
