import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Affine, Volume } from '../io/volume.js';
import {
  DatasetError,
  listCases,
  parseDatasetJson,
  splitCases,
  toDatasetJson,
  verifyPair,
} from './dataset.js';

const V2 = {
  name: 'Dataset001_Liver',
  channel_names: { '0': 'CT' },
  labels: { background: 0, liver: 1, tumor: 2 },
  numTraining: 2,
  file_ending: '.nii.gz',
};

const MSD = {
  name: 'Prostate',
  modality: { '0': 'T2', '1': 'ADC' },
  labels: { '0': 'background', '1': 'PZ', '2': 'TZ' },
  numTraining: 2,
  training: [
    { image: './imagesTr/prostate_16.nii.gz', label: './labelsTr/prostate_16.nii.gz' },
    { image: './imagesTr/prostate_04.nii.gz', label: './labelsTr/prostate_04.nii.gz' },
  ],
  test: ['./imagesTs/prostate_08.nii.gz'],
};

function errorOf(fn: () => unknown): DatasetError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DatasetError, String(e));
    return e;
  }
  assert.fail('expected a DatasetError');
}

describe('dataset.json', () => {
  it('parses the nnU-Net v2 form (labels name → value)', () => {
    const info = parseDatasetJson(V2);
    assert.equal(info.format, 'nnunetv2');
    assert.deepEqual(info.channels, ['CT']);
    assert.deepEqual(info.labels, { background: 0, liver: 1, tumor: 2 });
    assert.equal(info.fileEnding, '.nii.gz');
    assert.equal(info.numTraining, 2);
  });

  it('parses the MSD form (labels value → name, modality, training list)', () => {
    const info = parseDatasetJson(MSD);
    assert.equal(info.format, 'msd');
    assert.deepEqual(info.channels, ['T2', 'ADC']);
    assert.deepEqual(info.labels, { background: 0, PZ: 1, TZ: 2 });
    assert.equal(info.fileEnding, '.nii.gz');
    assert.deepEqual(info.training?.[0], {
      image: 'imagesTr/prostate_16.nii.gz',
      label: 'labelsTr/prostate_16.nii.gz',
    });
    assert.deepEqual(info.test, ['imagesTs/prostate_08.nii.gz']);
  });

  it('round-trips through toDatasetJson', () => {
    const info = parseDatasetJson(V2);
    const again = parseDatasetJson(toDatasetJson({ ...info, numTraining: 2 }));
    assert.deepEqual(again, info);
  });

  it('reports every problem at once', () => {
    const e = errorOf(() =>
      parseDatasetJson({
        channel_names: { '1': 'CT' },
        labels: { liver: 1, tumor: [1, 2], x: -1 },
        file_ending: 'nii',
      }),
    );
    const text = e.problems.join('\n');
    assert.match(text, /channel_names' entry "1"/);
    assert.match(text, /region-based/);
    assert.match(text, /'x': value -1/);
    assert.match(text, /no background value 0/);
    assert.match(text, /file_ending/);
  });

  it('requires channel names', () => {
    assert.match(errorOf(() => parseDatasetJson({ labels: { background: 0 } })).message, /channel_names/);
  });
});

describe('case listing', () => {
  it('derives cases from {CASE}_0000 images and {CASE} labels, ignoring hidden files', () => {
    const info = parseDatasetJson(V2);
    const cases = listCases(info, {
      imagesTr: ['liver_1_0000.nii.gz', 'liver_0_0000.nii.gz', '._liver_0_0000.nii.gz'],
      labelsTr: ['liver_0.nii.gz', 'liver_1.nii.gz', '.DS_Store'],
    });
    assert.deepEqual(cases, [
      { id: 'liver_0', images: ['imagesTr/liver_0_0000.nii.gz'], label: 'labelsTr/liver_0.nii.gz' },
      { id: 'liver_1', images: ['imagesTr/liver_1_0000.nii.gz'], label: 'labelsTr/liver_1.nii.gz' },
    ]);
  });

  it('orders channel files and names the case missing one', () => {
    const info = parseDatasetJson({ ...V2, channel_names: { '0': 'T2', '1': 'ADC' }, numTraining: 1 });
    const ok = listCases(info, { imagesTr: ['a_0001.nii.gz', 'a_0000.nii.gz'] });
    assert.deepEqual(ok[0]?.images, ['imagesTr/a_0000.nii.gz', 'imagesTr/a_0001.nii.gz']);
    assert.equal(ok[0]?.label, null);
    const e = errorOf(() => listCases(info, { imagesTr: ['a_0000.nii.gz'] }));
    assert.match(e.message, /case a: missing channel file\(s\) a_0001\.nii\.gz/);
  });

  it('names cases whose label or image is missing and checks numTraining', () => {
    const info = parseDatasetJson(V2);
    const e = errorOf(() =>
      listCases(info, { imagesTr: ['x_0000.nii.gz', 'bad.nii.gz'], labelsTr: ['y.nii.gz'] }),
    );
    const text = e.problems.join('\n');
    assert.match(text, /case x: no label labelsTr\/x\.nii\.gz/);
    assert.match(text, /case y: label labelsTr\/y\.nii\.gz has no image/);
    assert.match(text, /imagesTr\/bad\.nii\.gz does not match/);
    assert.match(text, /numTraining = 2 but 1/);
  });

  it('uses the MSD training list when images have no channel suffix', () => {
    const info = parseDatasetJson(MSD);
    const cases = listCases(info, {
      imagesTr: ['prostate_04.nii.gz', 'prostate_16.nii.gz'],
      labelsTr: ['prostate_04.nii.gz', 'prostate_16.nii.gz'],
    });
    assert.deepEqual(
      cases.map((c) => [c.id, c.images, c.label]),
      [
        ['prostate_04', ['imagesTr/prostate_04.nii.gz'], 'labelsTr/prostate_04.nii.gz'],
        ['prostate_16', ['imagesTr/prostate_16.nii.gz'], 'labelsTr/prostate_16.nii.gz'],
      ],
    );
    const e = errorOf(() => listCases(info, { imagesTr: ['prostate_04.nii.gz'] }));
    assert.match(
      e.message,
      /case prostate_16: image 'imagesTr\/prostate_16\.nii\.gz' is listed in 'training' but missing/,
    );
  });
});

function vol(shape: number[], values: number[], affine?: Affine): Volume<'float32'> {
  return {
    data: Float32Array.from(values),
    dtype: 'float32',
    shape,
    spacing: [1, 1, 1],
    affine: affine ?? [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 2, -50],
      [0, 0, 0, 1],
    ],
  };
}

describe('image/label verification', () => {
  const labels = { background: 0, liver: 1 };
  it('accepts a matching pair', () => {
    assert.deepEqual(
      verifyPair('c1', [vol([2, 1, 2], [0, 1, 2, 3])], vol([2, 1, 2], [0, 1, 1, 0]), labels),
      [],
    );
  });

  it('names the case and the problem for shape, affine, values and non-finite voxels', () => {
    const shifted: Affine = [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 2, -49],
      [0, 0, 0, 1],
    ];
    const problems = verifyPair(
      'c7',
      [vol([2, 1, 2], [0, Number.NaN, 2, 3], shifted), vol([2, 2, 1], [0, 0, 0, 0])],
      vol([2, 1, 2], [0, 1, 3, 0.5]),
      labels,
    );
    const text = problems.join('\n');
    assert.ok(problems.every((p) => p.startsWith('case c7: ')));
    assert.match(text, /channel 0 affine differs .*\[2\]\[3\]: -49 vs -50/);
    assert.match(text, /channel 0 has a non-finite value NaN/);
    assert.match(text, /channel 1 shape 2×2×1 differs from label shape 2×1×2/);
    assert.match(text, /label values 0\.5, 3 are not in dataset\.json labels/);
  });

  it('tolerates affine rounding below the tolerance', () => {
    const a: Affine = [
      [1 + 1e-7, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 2, -50.00001],
      [0, 0, 0, 1],
    ];
    assert.deepEqual(verifyPair('c', [vol([1, 1, 2], [0, 0], a)], vol([1, 1, 2], [0, 0]), labels), []);
  });
});

describe('case split', () => {
  const ids = Array.from({ length: 10 }, (_, i) => `case_${i}`);
  it('is deterministic, disjoint, complete and independent of input order', () => {
    const a = splitCases(ids, { seed: 1 });
    const b = splitCases([...ids].reverse(), { seed: 1 });
    assert.deepEqual(a, b);
    assert.equal(a.val.length, 2);
    assert.deepEqual([...a.train, ...a.val].sort(), ids);
    assert.notDeepEqual(splitCases(ids, { seed: 2 }).val, a.val);
  });

  it('takes at least one validation case and honours numVal', () => {
    assert.equal(splitCases(['a', 'b'], { seed: 0 }).val.length, 1);
    assert.equal(splitCases(ids, { seed: 0, numVal: 0 }).val.length, 0);
    assert.throws(() => splitCases(ids, { seed: 0, numVal: 11 }), /cannot take 11/);
    assert.throws(() => splitCases(['a', 'a'], { seed: 0 }), /repeat/);
  });
});
