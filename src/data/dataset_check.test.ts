// Tests for the dataset integrity check: each kind of problem is found and names its file; a clean dataset
// passes with the right summary.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatError } from '../core/errors.js';
import type { Affine, Volume } from '../io/volume.js';
import { parseDatasetJson } from './dataset.js';
import { type DatasetProblem, checkDataset, formatDatasetCheck } from './dataset_check.js';

const AFFINE: Affine = [
  [-0.8, 0, 0, 10],
  [0, -0.8, 0, 20],
  [0, 0, 2.5, -30],
  [0, 0, 0, 1],
];

function volume(shape: number[], values: (i: number) => number, affine = AFFINE): Volume {
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    dtype: 'float32',
    shape,
    spacing: [0.8, 0.8, 2.5],
    affine,
    data: Float32Array.from({ length: n }, (_, i) => values(i)),
  };
}

const INFO = parseDatasetJson({
  name: 'Dataset009_Test',
  channel_names: { '0': 'T2', '1': 'ADC' },
  labels: { background: 0, prostate: 1 },
  file_ending: '.nii.gz',
});

/** A two-case, two-channel dataset; `edit` replaces what a file holds. */
function dataset(edit: Record<string, Volume | Error> = {}) {
  const files: Record<string, Volume | Error> = {};
  for (const id of ['a', 'b']) {
    files[`imagesTr/${id}_0000.nii.gz`] = volume([4, 3, 5], (i) => i);
    files[`imagesTr/${id}_0001.nii.gz`] = volume([4, 3, 5], (i) => 100 - i);
    files[`labelsTr/${id}.nii.gz`] = volume([4, 3, 5], (i) => (id === 'a' && i < 7 ? 1 : 0));
  }
  Object.assign(files, edit);
  const names = (dir: string) =>
    Object.keys(files)
      .filter((f) => f.startsWith(`${dir}/`))
      .map((f) => f.slice(dir.length + 1));
  const read = async (file: string) => {
    const v = files[file];
    if (v === undefined) throw new Error(`no ${file}`);
    if (v instanceof Error) throw v;
    return v;
  };
  return checkDataset(
    INFO,
    {
      imagesTr: names('imagesTr'),
      labelsTr: names('labelsTr'),
      imagesTs: ['c_0000.nii.gz', 'c_0001.nii.gz'],
    },
    read,
  );
}

const only = (problems: readonly DatasetProblem[]): DatasetProblem => {
  assert.equal(problems.length, 1, JSON.stringify(problems));
  return problems[0]!;
};

describe('checkDataset', () => {
  it('passes a consistent dataset and summarises it', async () => {
    const { problems, summary } = await dataset();
    assert.deepEqual(problems, []);
    assert.equal(summary.cases, 2);
    assert.equal(summary.testCases, 1);
    assert.deepEqual(summary.shape, { min: [4, 3, 5], max: [4, 3, 5] });
    assert.deepEqual(summary.spacing, { min: [0.8, 0.8, 2.5], max: [0.8, 0.8, 2.5] });
    assert.deepEqual(summary.intensity, [
      [0, 59],
      [41, 100],
    ]);
    assert.deepEqual(summary.casesWithClass, { background: 2, prostate: 1 });
    const text = formatDatasetCheck({ problems, summary }, 'ds');
    assert.match(text, /^cases\s+2 labelled .*1 test/m);
    assert.match(text, /^classes\s+0 background \(in 2 cases\), 1 prostate \(in 1 case\)$/m);
    assert.match(text, /^check\s+OK/m);
  });

  it('names an image whose grid differs from its label', async () => {
    const p = only((await dataset({ 'imagesTr/b_0001.nii.gz': volume([4, 3, 6], () => 0) })).problems);
    assert.equal(p.file, 'imagesTr/b_0001.nii.gz');
    assert.match(p.problem, /shape 4×3×6 differs from its label labelsTr\/b\.nii\.gz \(4×3×5\)/);
  });

  it('names an image whose affine differs from its label beyond the tolerance, not within it', async () => {
    const shifted = (d: number): Affine => [AFFINE[0], AFFINE[1], [0, 0, 2.5, -30 + d], AFFINE[3]];
    const p = only(
      (await dataset({ 'imagesTr/a_0000.nii.gz': volume([4, 3, 5], (i) => i, shifted(1)) })).problems,
    );
    assert.equal(p.file, 'imagesTr/a_0000.nii.gz');
    assert.match(
      p.problem,
      /affine differs from its label labelsTr\/a\.nii\.gz: entry \[2\]\[3\] is -29 vs -30/,
    );
    const close = await dataset({ 'imagesTr/a_0000.nii.gz': volume([4, 3, 5], (i) => i, shifted(1e-6)) });
    assert.deepEqual(close.problems, []);
  });

  it('names a label with values outside dataset.json and non-integer values', async () => {
    const bad = await dataset({
      'labelsTr/a.nii.gz': volume([4, 3, 5], (i) => (i === 0 ? 3 : i === 1 ? 0.5 : 0)),
    });
    assert.deepEqual(
      bad.problems.map((p) => p.file),
      ['labelsTr/a.nii.gz', 'labelsTr/a.nii.gz'],
    );
    assert.match(bad.problems[0]!.problem, /1 voxel\(s\) are not integer label values \(0\.5/);
    assert.match(
      bad.problems[1]!.problem,
      /label value\(s\) 3 are not in dataset.json's labels \(0 background, 1 prostate\)/,
    );
  });

  it('names an image with NaN or Inf voxels', async () => {
    const p = only(
      (
        await dataset({
          'imagesTr/b_0000.nii.gz': volume([4, 3, 5], (i) => (i === 3 ? Number.NaN : i === 4 ? Infinity : 1)),
        })
      ).problems,
    );
    assert.equal(p.file, 'imagesTr/b_0000.nii.gz');
    assert.match(p.problem, /2 voxel\(s\) are not finite \(NaN/);
  });

  it('reports a case missing a channel file, by name', async () => {
    const files = {
      imagesTr: ['a_0000.nii.gz', 'a_0001.nii.gz', 'b_0000.nii.gz'],
      labelsTr: ['a.nii.gz', 'b.nii.gz'],
    };
    const check = await checkDataset(INFO, files, async () => volume([4, 3, 5], () => 0));
    assert.ok(
      check.problems.some((p) => /case b: missing channel file\(s\) b_0001\.nii\.gz/.test(p.problem)),
      JSON.stringify(check.problems),
    );
  });

  it('names a channel file that holds several volumes', async () => {
    const p = only((await dataset({ 'imagesTr/a_0001.nii.gz': volume([4, 3, 5, 2], () => 1) })).problems);
    assert.equal(p.file, 'imagesTr/a_0001.nii.gz');
    assert.match(p.problem, /holds 2 volumes \[4, 3, 5, 2\]: each channel file must be 3D/);
  });

  it('names a file that cannot be read and checks the other cases', async () => {
    const { problems, summary } = await dataset({
      'labelsTr/a.nii.gz': new FormatError('labelsTr/a.nii.gz', 'truncated'),
      'imagesTr/b_0000.nii.gz': volume([4, 3, 5], () => Number.NaN),
    });
    assert.deepEqual(
      problems.map((p) => p.file),
      ['labelsTr/a.nii.gz', 'imagesTr/b_0000.nii.gz'],
    );
    assert.match(problems[0]!.problem, /cannot be read: .*truncated/);
    assert.deepEqual(summary.intensity, [null, [41, 100]]);
  });

  it('checks the channel count of a single 4D image file (MSD)', async () => {
    const info = parseDatasetJson({
      modality: { '0': 'T2', '1': 'ADC' },
      labels: { '0': 'background', '1': 'prostate' },
      training: [{ image: './imagesTr/p.nii.gz', label: './labelsTr/p.nii.gz' }],
    });
    const read = async (f: string) =>
      f.startsWith('imagesTr') ? volume([4, 3, 5, 3], () => 1) : volume([4, 3, 5], () => 0);
    const check = await checkDataset(info, { imagesTr: ['p.nii.gz'], labelsTr: ['p.nii.gz'] }, read);
    const p = only(check.problems);
    assert.equal(p.file, 'imagesTr/p.nii.gz');
    assert.match(p.problem, /holds 3 channel\(s\) \[4, 3, 5, 3\], dataset.json declares 2 \(T2, ADC\)/);
  });
});
