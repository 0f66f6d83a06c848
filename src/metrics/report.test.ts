// The evaluation report: rows per case × class, NaN-aware mean ± std, and the CSV / Markdown / JSON
// renderings, on hand-made rows with known answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LabelVolume } from './label_volume.js';
import {
  type MetricRow,
  evaluateCase,
  nanStats,
  nsdKey,
  rowsToCsv,
  summarize,
  summaryToJson,
  summaryToMarkdown,
} from './report.js';

const rows: MetricRow[] = [
  { caseId: 'case_a', classId: 1, values: { dice: 0.5, hd95: 2 } },
  { caseId: 'case_a', classId: 2, values: { dice: 1, hd95: Number.NaN } },
  { caseId: 'case_b', classId: 1, values: { dice: 0.75, hd95: 4 } },
  { caseId: 'case_b', classId: 2, values: { dice: 0, hd95: Number.NaN } },
];

describe('evaluateCase', () => {
  // [4, 1, 1] labels: class 1 in both, class 2 only in pred, class 3 in neither.
  const pred: LabelVolume = { data: Uint8Array.from([1, 1, 2, 0]), shape: [4, 1, 1], spacing: [2, 1, 1] };
  const gt: LabelVolume = { data: Uint8Array.from([0, 1, 0, 0]), shape: [4, 1, 1], spacing: [2, 1, 1] };

  it('gives one row per class with dice, hd95, assd, hd and one nsd column per tolerance', () => {
    const out = evaluateCase('c1', pred, gt, { classes: 3, nsdToleranceMm: [0.5, 2] });
    assert.deepEqual(
      out.map((r) => [r.caseId, r.classId, Object.keys(r.values)]),
      [1, 2, 3].map((c) => ['c1', c, ['dice', 'hd95', 'assd', 'hd', 'nsd@0.5mm', 'nsd@2mm']]),
    );
    const [one, two, three] = out.map((r) => r.values);
    // Class 1: borders {0, 1} (1D erosion keeps no interior) and {1}: distances [2, 0] and [0] mm;
    // hd95 = np.percentile([2, 0, 0], 95) = 1.7999999999999998.
    assert.deepEqual(one, {
      dice: 2 / 3,
      hd95: 1.7999999999999998,
      assd: 2 / 3,
      hd: 2,
      'nsd@0.5mm': 2 / 3,
      'nsd@2mm': 1,
    });
    assert.deepEqual(two, {
      dice: 0,
      hd95: Number.NaN,
      assd: Number.NaN,
      hd: Number.NaN,
      'nsd@0.5mm': 0,
      'nsd@2mm': 0,
    });
    assert.deepEqual(three, {
      dice: 1,
      hd95: Number.NaN,
      assd: Number.NaN,
      hd: Number.NaN,
      'nsd@0.5mm': 1,
      'nsd@2mm': 1,
    });
  });

  it('computes Dice only when surface metrics are switched off, with NSD at 1 and 2 mm by default', () => {
    assert.deepEqual(evaluateCase('c1', pred, gt, { classes: [1], surface: false })[0]!.values, {
      dice: 2 / 3,
    });
    const keys = Object.keys(evaluateCase('c1', pred, gt, { classes: [1] })[0]!.values);
    assert.deepEqual(keys.slice(-2), [nsdKey(1), nsdKey(2)]);
    assert.equal(nsdKey(1), 'nsd@1mm');
  });
});

describe('summaries', () => {
  it('nanStats gives the mean and population std of the non-NaN values and counts the NaNs', () => {
    assert.deepEqual(nanStats([1, Number.NaN, 3]), { mean: 2, std: 1, n: 2, nanCount: 1 });
    const none = nanStats([Number.NaN]);
    assert.ok(Number.isNaN(none.mean) && Number.isNaN(none.std) && none.n === 0 && none.nanCount === 1);
  });

  it('aggregates per class over cases, per case over classes, and overall over class means', () => {
    const s = summarize(rows);
    assert.deepEqual(s.metrics, ['dice', 'hd95']);
    assert.deepEqual(s.caseIds, ['case_a', 'case_b']);
    assert.deepEqual(s.perClass[0], {
      classId: 1,
      stats: {
        dice: { mean: 0.625, std: 0.125, n: 2, nanCount: 0 },
        hd95: { mean: 3, std: 1, n: 2, nanCount: 0 },
      },
    });
    assert.deepEqual(s.perClass[1]!.stats['dice'], { mean: 0.5, std: 0.5, n: 2, nanCount: 0 });
    assert.equal(s.perClass[1]!.stats['hd95']!.nanCount, 2);
    assert.deepEqual(s.perCase, [
      { caseId: 'case_a', means: { dice: 0.75, hd95: 2 } },
      { caseId: 'case_b', means: { dice: 0.375, hd95: 4 } },
    ]);
    assert.deepEqual(s.overall, { dice: 0.5625, hd95: 3 });
  });
});

describe('renderings', () => {
  it('CSV has a header, one line per row, NaN spelled out and awkward case ids quoted', () => {
    const csv = rowsToCsv([...rows.slice(0, 2), { caseId: 'x,"y"', classId: 3, values: { dice: 0.25 } }]);
    assert.equal(csv, 'case,class,dice,hd95\ncase_a,1,0.5,2\ncase_a,2,1,NaN\n"x,""y""",3,0.25,NaN\n');
    assert.equal(rowsToCsv(rows.slice(0, 1), { digits: 2 }), 'case,class,dice,hd95\ncase_a,1,0.50,2.00\n');
  });

  it('Markdown shows mean ± std per class, n where NaN was left out, and the overall mean', () => {
    const md = summaryToMarkdown(summarize(rows), { digits: 3, classNames: { 1: 'spleen' } });
    assert.equal(
      md,
      [
        '| class | dice | hd95 |',
        '|---|---|---|',
        '| spleen | 0.625 ± 0.125 | 3.000 ± 1.000 |',
        '| 2 | 0.500 ± 0.500 | NaN ± NaN (n=0) |',
        '| mean | 0.563 | 3.000 |',
        '',
      ].join('\n'),
    );
  });

  it('the JSON summary survives JSON.stringify unchanged, with NaN as null', () => {
    const json = summaryToJson(summarize(rows));
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
    assert.equal(json.perClass[1]!.stats['hd95']!.mean, null);
    assert.equal(json.overall['dice'], 0.5625);
  });
});
