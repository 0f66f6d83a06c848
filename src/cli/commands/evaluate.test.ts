// Tests for `masam evaluate`: a phantom label map against a shifted copy, the official empty-mask rules,
// class names from dataset.json, the official _pred/_gt folder, float labels, and the errors (unpaired
// cases, shape mismatch) that must leave --out unwritten.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { Rng } from '../../core/rng.js';
import { makePhantom } from '../../data/phantom.js';
import { IDENTITY_AFFINE, type Volume } from '../../io/volume.js';
import { runCommand } from '../../../test/cli.js';
import { UsageError } from '../command.js';
import { writeVolumeAtomic } from '../volume_files.js';
import { evaluate } from './evaluate.js';

const runEvaluate = (args: string[]) => runCommand(evaluate, args);

/** A label volume on an 8×8×4 grid of 1.5×1.5×3 mm with `fill(i, j, k)` as label. */
function grid(
  fill: (i: number, j: number, k: number) => number,
  dtype: 'uint8' | 'float32' = 'uint8',
): Volume {
  const shape = [8, 8, 4];
  const data = dtype === 'uint8' ? new Uint8Array(256) : new Float32Array(256);
  for (let k = 0, p = 0; k < 4; k++)
    for (let j = 0; j < 8; j++) for (let i = 0; i < 8; i++, p++) data[p] = fill(i, j, k);
  const spacing = [1.5, 1.5, 3];
  const affine = [
    [1.5, 0, 0, 0],
    [0, 1.5, 0, 0],
    [0, 0, 3, 0],
    [0, 0, 0, 1],
  ] as const;
  return { data, dtype, shape, spacing, affine } as Volume;
}

interface Summary {
  cases: number;
  classNames: Record<string, string>;
  perClass: {
    classId: number;
    stats: Record<string, { mean: number | null; std: number | null; n: number }>;
  }[];
  overall: Record<string, number | null>;
  warnings: string[];
}

describe('masam evaluate', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'masam-evaluate-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const dir = (...parts: string[]) => {
    const p = join(tmp, ...parts);
    mkdirSync(p, { recursive: true });
    return p;
  };

  describe('a phantom against a shifted copy', () => {
    const gtDir = join(tmp, 'phantom', 'gt');
    const predDir = join(tmp, 'phantom', 'pred');
    before(async () => {
      mkdirSync(gtDir, { recursive: true });
      mkdirSync(predDir, { recursive: true });
      for (const [c, seed] of [
        ['ct_000', 1],
        ['ct_001', 2],
      ] as const) {
        const { label } = makePhantom('ct', new Rng(seed), { size: [48, 40, 12] });
        // The prediction: the label moved one voxel along i.
        const [nx] = label.shape as [number];
        const shifted = new Uint8Array(label.data.length);
        for (let p = 0; p < shifted.length; p++) shifted[p] = p % nx === 0 ? 0 : label.data[p - 1]!;
        await writeVolumeAtomic(join(gtDir, `${c}.nii.gz`), label);
        await writeVolumeAtomic(join(predDir, `${c}.nii.gz`), { ...label, data: shifted });
      }
      // nnU-Net prediction folders hold JSON files beside the predictions: ignored.
      writeFileSync(join(predDir, 'plans.json'), '{}');
    });

    it('scores Dice < 1 but > 0.5, HD95 > 0, and writes the four files', async () => {
      const out = join(tmp, 'phantom', 'out');
      const r = await runEvaluate(['--pred', predDir, '--gt', gtDir, '--out', out]);
      assert.equal(r.code, 0);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
      assert.equal(summary.cases, 2);
      const dice = summary.overall['dice']!;
      assert.ok(dice > 0.5 && dice < 1, `mean Dice ${dice}`);
      assert.ok(summary.overall['hd95']! > 0);
      assert.ok(summary.perClass.length >= 3);
      for (const c of summary.perClass) {
        assert.ok(c.stats['dice']!.mean! < 1, `class ${c.classId}`);
        assert.ok(c.stats['hd95']!.mean! > 0, `class ${c.classId}`);
        assert.match(summary.classNames[String(c.classId)]!, /^class_\d+$/);
      }
      assert.ok('nsd@2mm' in summary.overall);
      const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
      assert.deepEqual(csv[0]!.split(',').slice(0, 4), ['case', 'class', 'dice', 'hd95']);
      assert.ok(csv[0]!.includes('nsd@2mm'));
      assert.equal(csv.length, 1 + 2 * summary.perClass.length);
      const report = readFileSync(join(out, 'report.md'), 'utf8');
      assert.match(report, /\| class \| dice \| hd95 \|/);
      assert.match(report, /!\[.*\]\(dice\.png\)/);
      const png = PNG.sync.read(readFileSync(join(out, 'dice.png')));
      assert.ok(png.width >= 640 && png.height === 400);
      // The printed table: a header, one line per class, the mean.
      assert.match(r.out, /^class\s+Dice\s+HD95 \(mm\)\s+NSD@2mm/m);
      assert.match(r.out, /^mean\s+0\.\d{4}/m);
      assert.match(r.out, /2 case\(s\); wrote metrics\.csv, summary\.json, report\.md, dice\.png/);
    });

    it('names classes from --labels and prints the summary JSON with --json', async () => {
      const labels = join(tmp, 'phantom', 'dataset.json');
      writeFileSync(
        labels,
        JSON.stringify({
          channel_names: { 0: 'CT' },
          labels: { background: 0, spleen: 1, liver: 6 },
          numTraining: 2,
        }),
      );
      const out = join(tmp, 'phantom', 'out-json');
      const r = await runEvaluate([
        '--pred',
        predDir,
        '--gt',
        gtDir,
        '--out',
        out,
        '--labels',
        labels,
        '--json',
        '--nsd-tolerance',
        '1,3',
      ]);
      assert.equal(r.code, 0);
      const printed = JSON.parse(r.out) as Summary;
      assert.deepEqual(printed, JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')));
      assert.equal(printed.classNames['1'], 'spleen');
      assert.equal(printed.classNames['6'], 'liver');
      assert.ok('nsd@1mm' in printed.overall && 'nsd@3mm' in printed.overall);
    });
  });

  it('applies the empty-mask rules: absent from both → 1, from one → 0', async () => {
    const gt = dir('empty', 'gt');
    const pred = dir('empty', 'pred');
    const half = (i: number) => (i < 4 ? 1 : 2);
    // Case a: gt has classes 1 and 2, pred only 1 (in the same place) plus a label 7 nobody else has.
    await writeVolumeAtomic(
      join(gt, 'a.nii.gz'),
      grid((i) => half(i)),
    );
    await writeVolumeAtomic(
      join(pred, 'a.nii.gz'),
      grid((i, j) => (i < 4 ? 1 : j === 0 ? 7 : 0)),
    );
    // Case b: gt and pred have class 1 only, identical: class 2 absent from both.
    await writeVolumeAtomic(
      join(gt, 'b.nii.gz'),
      grid((i) => (i < 4 ? 1 : 0)),
    );
    // Official test.py writes float32 label maps: converted to integers.
    await writeVolumeAtomic(
      join(pred, 'b.nii.gz'),
      grid((i) => (i < 4 ? 1 : 0), 'float32'),
    );
    // Class 3 (from dataset.json) is in no case: absent from both everywhere.
    const labels = join(tmp, 'empty', 'dataset.json');
    writeFileSync(
      labels,
      JSON.stringify({ modality: { 0: 'CT' }, labels: { 0: 'bg', 1: 'one', 2: 'two', 3: 'three' } }),
    );
    const out = join(tmp, 'empty', 'out');
    const r = await runEvaluate(['--pred', pred, '--gt', gt, '--out', out, '--labels', labels]);
    assert.equal(r.code, 0);
    const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
    const head = csv[0]!.split(',');
    const value = (c: string, cls: number, m: string) => {
      const row = csv.find((l) => l.startsWith(`${c},${cls},`))!.split(',');
      return Number(row[head.indexOf(m)]);
    };
    assert.equal(csv.length, 1 + 2 * 3, 'two cases × classes 1, 2, 3; label 7 is not scored');
    assert.equal(value('a', 1, 'dice'), 1);
    assert.equal(value('a', 2, 'dice'), 0, 'in gt only');
    assert.ok(Number.isNaN(value('a', 2, 'hd95')));
    assert.equal(value('a', 2, 'nsd@2mm'), 0);
    assert.equal(value('b', 1, 'dice'), 1);
    assert.equal(value('b', 1, 'hd95'), 0);
    assert.equal(value('b', 2, 'dice'), 1, 'absent from both');
    assert.equal(value('b', 2, 'nsd@2mm'), 1);
    assert.ok(Number.isNaN(value('b', 2, 'hd95')));
    for (const c of ['a', 'b']) assert.equal(value(c, 3, 'dice'), 1);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
    const two = summary.perClass.find((c) => c.classId === 2)!;
    assert.equal(two.stats['dice']!.mean, 0.5);
    assert.equal(two.stats['hd95']!.mean, null, 'NaN becomes null in JSON');
    assert.equal(two.stats['hd95']!.n, 0);
    assert.deepEqual(summary.classNames, { 1: 'one', 2: 'two', 3: 'three' });
    assert.match(r.err, /label 7 appears only in predictions \(a\) and is not scored/);
    assert.match(r.out, /^two\s+0\.5000 ± 0\.5000\s+NaN ± NaN \(n=0\)/m);
  });

  it('pairs {CASE}_pred with {CASE}_gt in one folder (official test.py output) and two single files', async () => {
    const d = dir('official');
    const v = grid((i, j) => (i > 2 && j > 2 ? 1 : 0));
    await writeVolumeAtomic(join(d, 'case1_gt.nii.gz'), v);
    // test.py writes an identity affine (1 mm voxels): scored on the ground truth's grid, with a warning.
    await writeVolumeAtomic(join(d, 'case1_pred.nii.gz'), {
      ...v,
      spacing: [1, 1, 1],
      affine: IDENTITY_AFFINE,
    });
    await writeVolumeAtomic(
      join(d, 'case1_img.nii.gz'),
      grid(() => 5),
    );
    const r = await runEvaluate(['--pred', d, '--gt', d, '--out', join(d, 'out'), '--json']);
    assert.equal(r.code, 0);
    assert.match(
      r.err,
      /prediction spacing differs from the ground truth's, which is used: case1 \(pred \[1, 1, 1\], gt \[1\.5, 1\.5, 3\]\)/,
    );
    const s = JSON.parse(r.out) as Summary;
    assert.equal(s.cases, 1);
    assert.equal(s.overall['dice'], 1);
    const one = await runEvaluate([
      '--pred',
      join(d, 'case1_pred.nii.gz'),
      '--gt',
      join(d, 'case1_gt.nii.gz'),
      '--out',
      join(d, 'out1'),
    ]);
    assert.equal(one.code, 0);
    assert.match(readFileSync(join(d, 'out1', 'metrics.csv'), 'utf8'), /^case1_gt,1,1,0,/m);
    // A folder without _pred/_gt names given as both: each file against itself.
    const self = dir('self');
    await writeVolumeAtomic(join(self, 'x.nii.gz'), v);
    const s2 = JSON.parse(
      (await runEvaluate(['--pred', self, '--gt', self, '--out', join(d, 'out2'), '--json'])).out,
    ) as Summary;
    assert.deepEqual([s2.cases, s2.overall['dice']], [1, 1]);
  });

  it('names every unpaired case and writes nothing', async () => {
    const gt = dir('unpaired', 'gt');
    const pred = dir('unpaired', 'pred');
    const v = grid((i) => (i < 4 ? 1 : 0));
    for (const c of ['a', 'b']) await writeVolumeAtomic(join(pred, `${c}.nii.gz`), v);
    for (const c of ['b', 'c', 'd']) await writeVolumeAtomic(join(gt, `${c}.nii.gz`), v);
    const out = join(tmp, 'unpaired', 'out');
    await assert.rejects(
      evaluate.run(['--pred', pred, '--gt', gt, '--out', out]),
      (err: Error) =>
        /1 prediction\(s\) without ground truth: a/.test(err.message) &&
        /2 ground truth file\(s\) without prediction: c, d/.test(err.message),
    );
    assert.equal(existsSync(out), false);
  });

  it('names the case whose shapes differ and writes nothing', async () => {
    const gt = dir('shape', 'gt');
    const pred = dir('shape', 'pred');
    const v = grid((i) => (i < 4 ? 1 : 0));
    await writeVolumeAtomic(join(gt, 'ok.nii.gz'), v);
    await writeVolumeAtomic(join(pred, 'ok.nii.gz'), v);
    await writeVolumeAtomic(join(gt, 'bad.nii.gz'), v);
    await writeVolumeAtomic(join(pred, 'bad.nii.gz'), { ...v, data: v.data.slice(0, 192), shape: [8, 8, 3] });
    const out = join(tmp, 'shape', 'out');
    await assert.rejects(
      evaluate.run(['--pred', pred, '--gt', gt, '--out', out]),
      /case bad: prediction shape \[8, 8, 3\] differs from ground-truth shape \[8, 8, 4\]/,
    );
    assert.equal(existsSync(out), false);
  });

  it('rejects bad arguments', async () => {
    await assert.rejects(evaluate.run(['--pred', 'x', '--gt', 'y']), UsageError);
    await assert.rejects(
      evaluate.run(['--pred', 'x', '--gt', 'y', '--out', 'z', '--nsd-tolerance', 'abc']),
      UsageError,
    );
    await assert.rejects(
      evaluate.run(['--pred', join(tmp, 'nope'), '--gt', tmp, '--out', join(tmp, 'never')]),
      /--pred .*nope: no such file or folder/,
    );
    assert.equal(existsSync(join(tmp, 'never')), false);
  });
});
