import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../core/rng.js';
import type { Volume } from '../io/volume.js';
import { listCases, parseDatasetJson, verifyPair } from './dataset.js';
import { makePhantom, PHANTOM_LABELS, phantomDataset, splitChannels } from './phantom.js';

const SIZE: [number, number, number] = [64, 64, 24];

function bytes(v: Volume): Uint8Array {
  return new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
}

/** Mean image value per label, and voxel counts. */
function perLabel(image: Volume, label: Volume): Map<number, { n: number; mean: number }> {
  const acc = new Map<number, { n: number; s: number }>();
  label.data.forEach((l, i) => {
    const e = acc.get(Number(l)) ?? { n: 0, s: 0 };
    e.n++;
    e.s += Number(image.data[i]);
    acc.set(Number(l), e);
  });
  return new Map([...acc].map(([l, e]) => [l, { n: e.n, mean: e.s / e.n }]));
}

describe('phantoms', () => {
  for (const modality of ['ct', 'mri', 'video'] as const) {
    it(`${modality}: the same seed gives identical bytes, another seed different ones`, () => {
      const a = makePhantom(modality, new Rng(42), { size: SIZE });
      const b = makePhantom(modality, new Rng(42), { size: SIZE });
      const c = makePhantom(modality, new Rng(43), { size: SIZE });
      assert.deepEqual(bytes(a.image), bytes(b.image));
      assert.deepEqual(bytes(a.label), bytes(b.label));
      assert.notDeepEqual(bytes(a.image), bytes(c.image));
      assert.notDeepEqual(bytes(a.label), bytes(c.label));
    });

    it(`${modality}: every declared label is present and labels are consistent with the image`, () => {
      const p = makePhantom(modality, new Rng(7), { size: SIZE });
      assert.deepEqual(p.labels, PHANTOM_LABELS[modality]);
      assert.deepEqual(p.label.shape, SIZE);
      assert.deepEqual(p.image.shape.slice(0, 3), SIZE);
      const present = new Set(p.label.data);
      for (const [name, value] of Object.entries(p.labels))
        assert.ok(present.has(value), `${name} (${value}) missing`);
      const channels = splitChannels(p.image);
      assert.deepEqual(verifyPair('phantom', channels, p.label, p.labels), []);
    });
  }

  it('ct: organs have realistic HU (portal-venous phase) and air surrounds the body', () => {
    const p = makePhantom('ct', new Rng(1), { size: SIZE });
    assert.equal(p.image.dtype, 'int16');
    const stats = perLabel(p.image, p.label);
    const within = (label: number, lo: number, hi: number) => {
      const m = stats.get(label)!.mean;
      assert.ok(m >= lo && m <= hi, `label ${label}: mean ${m.toFixed(1)} HU not in [${lo}, ${hi}]`);
    };
    within(6, 80, 140); // liver
    within(1, 90, 150); // spleen
    within(2, 140, 220); // kidneys (cortex enhancing)
    within(3, 140, 220);
    within(8, 150, 250); // aorta
    within(4, -10, 40); // gallbladder (bile)
    assert.ok(Number(p.image.data[0]) < -900); // the corner voxel is air
    // The liver is on the patient's right: with i → left, at low i.
    let iSum = 0;
    let n = 0;
    p.label.data.forEach((l, idx) => {
      if (l === 6) {
        iSum += idx % 64;
        n++;
      }
    });
    assert.ok(iSum / n < 32);
  });

  it('ct: organ outlines change smoothly from slice to slice', () => {
    const p = makePhantom('ct', new Rng(2), { size: SIZE });
    const plane = 64 * 64;
    const mask = (k: number, l: number) =>
      Array.from(p.label.data.subarray(k * plane, (k + 1) * plane), (v) => v === l);
    for (const organ of [6, 1, 2]) {
      const areas = Array.from({ length: 24 }, (_, k) => mask(k, organ).filter(Boolean).length);
      const big = 0.3 * Math.max(...areas);
      for (let k = 1; k < 24; k++) {
        if (areas[k - 1]! < big || areas[k]! < big) continue;
        const a = mask(k - 1, organ);
        const b = mask(k, organ);
        const both = a.filter((v, i) => v && b[i]).length;
        const dice = (2 * both) / (areas[k - 1]! + areas[k]!);
        assert.ok(dice > 0.6, `label ${organ}: Dice ${dice.toFixed(2)} between slices ${k - 1} and ${k}`);
      }
    }
  });

  it('mri: peripheral zone is bright and transition zone darker, like T2', () => {
    const p = makePhantom('mri', new Rng(4), { size: SIZE });
    const stats = perLabel(p.image, p.label);
    assert.ok(stats.get(1)!.mean > stats.get(2)!.mean * 1.4);
    assert.ok(stats.get(1)!.mean > 500 && stats.get(2)!.mean > 200);
    for (const v of p.image.data) assert.ok(v >= 0);
  });

  it('video: RGB uint8 frames, instruments grey and tissue red, instrument parts moving', () => {
    const p = makePhantom('video', new Rng(5), { size: SIZE });
    assert.equal(p.image.dtype, 'uint8');
    assert.deepEqual(p.image.shape, [...SIZE, 3]);
    const [r, g] = splitChannels(p.image);
    let tissueRed = 0;
    let tissueGreen = 0;
    let n = 0;
    p.label.data.forEach((l, i) => {
      if (l === 0) {
        tissueRed += Number(r!.data[i]);
        tissueGreen += Number(g!.data[i]);
        n++;
      }
    });
    assert.ok(tissueRed / n > tissueGreen / n + 50);
    const plane = 64 * 64;
    const frame = (k: number) => Array.from(p.label.data.subarray(k * plane, (k + 1) * plane));
    assert.notDeepEqual(frame(0), frame(5));
  });
});

describe('phantom dataset', () => {
  it('lays out an nnU-Net v2 dataset that parses, lists and verifies', () => {
    const ds = phantomDataset({ modality: 'video', numTraining: 2, numTest: 1, size: [16, 12, 4], seed: 3 });
    const info = parseDatasetJson(ds.datasetJson);
    assert.deepEqual(info.channels, ['R', 'G', 'B']);
    assert.equal(info.numTraining, 2);
    const names = (dir: string) =>
      ds.files.filter((f) => f.path.startsWith(`${dir}/`)).map((f) => f.path.slice(dir.length + 1));
    const cases = listCases(info, { imagesTr: names('imagesTr'), labelsTr: names('labelsTr') });
    assert.deepEqual(
      cases.map((c) => c.id),
      ['video_000', 'video_001'],
    );
    assert.deepEqual(names('imagesTs'), [
      'video_002_0000.nii.gz',
      'video_002_0001.nii.gz',
      'video_002_0002.nii.gz',
    ]);
    assert.deepEqual(names('labelsTs'), ['video_002.nii.gz']);
    const byPath = new Map(ds.files.map((f) => [f.path, f.volume]));
    for (const c of cases) {
      const problems = verifyPair(
        c.id,
        c.images.map((p) => byPath.get(p)!),
        byPath.get(c.label!)!,
        info.labels,
      );
      assert.deepEqual(problems, []);
    }
  });

  it('is deterministic from its seed', () => {
    const a = phantomDataset({ modality: 'ct', numTraining: 1, numTest: 0, size: [16, 16, 4], seed: 9 });
    const b = phantomDataset({ modality: 'ct', numTraining: 1, numTest: 0, size: [16, 16, 4], seed: 9 });
    assert.deepEqual(a.datasetJson, b.datasetJson);
    assert.deepEqual(bytes(a.files[0]!.volume), bytes(b.files[0]!.volume));
  });
});
