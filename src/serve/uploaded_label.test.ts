// readUploadedLabel: the three label files clients save (.bin from OHIF, .nrrd and .nii.gz from Slicer),
// the class names from label_info / label_names, and the refusals.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../core/rng.js';
import { ctPhantom } from '../data/phantom.js';
import { serializeNifti } from '../io/nifti.js';
import { serializeNrrd } from '../io/nrrd.js';
import type { Volume } from '../io/volume.js';
import { ServeError } from './serve_error.js';
import { readUploadedLabel } from './uploaded_label.js';

const MAX = 1 << 24;

describe('readUploadedLabel', () => {
  const { image, label } = ctPhantom(new Rng(2), { size: [12, 10, 4] });
  const values = label.data as Uint8Array;

  it('reads .bin as the image voxels in order, with the image geometry', () => {
    const got = readUploadedLabel(Uint8Array.from(values), 'label.bin', image, {}, 'test', MAX);
    assert.deepEqual(got.label.data, values);
    assert.deepEqual(got.label.shape, [12, 10, 4]);
    assert.deepEqual(got.label.affine, image.affine);
  });

  it('reads .nrrd and .nii.gz labels of the same grid to the same voxels', () => {
    const fromNrrd = readUploadedLabel(serializeNrrd(label), 'seg.nrrd', image, {}, 'test', MAX);
    const fromNifti = readUploadedLabel(
      serializeNifti(label, { gzip: true }),
      'seg.nii.gz',
      image,
      {},
      'test',
      MAX,
    );
    assert.deepEqual(Array.from(fromNrrd.label.data as Uint8Array), Array.from(values));
    assert.deepEqual(Array.from(fromNifti.label.data as Uint8Array), Array.from(values));
  });

  it('names classes from label_info or label_names, the rest "label <v>"', () => {
    const top = Math.max(...values);
    assert.ok(top >= 2, 'the phantom has at least two organs');
    const info = readUploadedLabel(
      values,
      'l.bin',
      image,
      { label_info: [{ name: 'liver', idx: 1 }] },
      't',
      MAX,
    );
    assert.equal(info.classNames.length, top + 1);
    assert.deepEqual(info.classNames.slice(0, 3), ['background', 'liver', 'label 2']);
    const byName = readUploadedLabel(values, 'l.bin', image, { label_names: { spleen: 2 } }, 't', MAX);
    assert.deepEqual(byName.classNames.slice(0, 3), ['background', 'label 1', 'spleen']);
  });

  it('refuses a wrong size, another grid, non-class values, unreadable files and malformed names', () => {
    const refuses = (f: () => unknown, pattern: RegExp) =>
      assert.throws(
        f,
        (err: unknown) => err instanceof ServeError && err.statusCode === 400 && pattern.test(err.message),
      );
    refuses(
      () => readUploadedLabel(values.subarray(1), 'l.bin', image, {}, 'mine', MAX),
      /^mine: a \.bin label holds/,
    );
    const other: Volume = { ...label, shape: [10, 12, 4] };
    refuses(
      () => readUploadedLabel(serializeNrrd(other), 'l.nrrd', image, {}, 'mine', MAX),
      /grid 10×12×4 is not the image's 12×10×4/,
    );
    const fractional: Volume = {
      ...image,
      dtype: 'float32',
      data: new Float32Array(image.data.length).fill(0.5),
    };
    refuses(
      () => readUploadedLabel(serializeNifti(fractional), 'l.nii', image, {}, 'mine', MAX),
      /holds 0\.5, not a class index/,
    );
    refuses(
      () => readUploadedLabel(new Uint8Array(10), 'l.nrrd', image, {}, 'mine', MAX),
      /not a readable NRRD volume/,
    );
    refuses(
      () => readUploadedLabel(new Uint8Array(10), 'l.nii.gz', image, {}, 'mine', MAX),
      /not a readable NIfTI volume/,
    );
    refuses(
      () => readUploadedLabel(values, 'l.bin', image, { label_info: [{ name: 'x', idx: -1 }] }, 'm', MAX),
      /label_info/,
    );
    refuses(
      () => readUploadedLabel(values, 'l.bin', image, { label_names: ['x'] }, 'm', MAX),
      /label_names must be an object/,
    );
  });
});
