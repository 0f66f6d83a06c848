// Tests for the CLI's volume files: natural name order, format dispatch and atomic writes.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fixturePath } from '../../test/fixtures.js';
import { FormatError } from '../core/errors.js';
import { parseNifti, serializeNifti } from '../io/nifti.js';
import { writeFileAtomic } from '../api/files.js';
import { naturalCompare, readVolume, writeVolumeAtomic } from './volume_files.js';

describe('naturalCompare', () => {
  it('orders digit runs by value and the rest by code unit', () => {
    const names = ['img10.png', 'img2.png', 'img1.png', 'img02.png', 'a.png', 'img1b.png', 'img.png'];
    assert.deepEqual(names.sort(naturalCompare), [
      'a.png',
      'img.png',
      'img1.png',
      'img1b.png',
      'img2.png',
      'img02.png',
      'img10.png',
    ]);
  });

  it('handles numbers longer than a double holds exactly', () => {
    assert.ok(naturalCompare('f123456789012345678901', 'f123456789012345678902') < 0);
    assert.ok(naturalCompare('f99', 'f100') < 0);
  });
});

describe('readVolume', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'masam-files-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('reads .nii and .nii.gz, and NIfTI under another name by its content', async () => {
    const gz = fixturePath('nifti', 'labels_uint8.nii.gz');
    const a = await readVolume(gz);
    const b = await readVolume(fixturePath('nifti', 'mr_float32.nii'));
    assert.deepEqual(
      [a.shape, b.shape],
      [
        [32, 32, 8],
        [40, 40, 12],
      ],
    );
    const renamed = join(tmp, 'labels.bin');
    writeFileSync(renamed, readFileSync(gz));
    assert.deepEqual((await readVolume(renamed)).data, a.data);
  });

  it('reads a single DICOM file as a one-slice volume', async () => {
    const v = await readVolume(fixturePath('dicom', 'CT_small.dcm'));
    assert.deepEqual(v.shape.slice(0, 3), [128, 128, 1]);
    assert.equal(v.source?.format, 'dicom');
  });

  it('reads a JPEG-compressed DICOM file, loading the codecs it needs on the way', async () => {
    // 12-bit JPEG extended: pydicom could not decode it, so the fixture gives no pixels to compare with.
    const v = await readVolume(fixturePath('dicom', 'JPEG-lossy.dcm'));
    assert.equal(v.source?.format, 'dicom');
    assert.equal(v.shape[2], 1);
    assert.equal(
      v.data.length,
      v.shape.reduce((a, b) => a * b, 1),
    );
    assert.ok(v.data.some((x) => Number(x) !== 0));
  });

  it('says what a folder lacks when it holds no volume files', async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    await assert.rejects(
      readVolume(empty),
      (e: unknown) => e instanceof FormatError && /no DICOM files and no \.png/.test(e.message),
    );
  });
});

describe('atomic writes', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'masam-atomic-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('replaces the target in one step and leaves no temp file', async () => {
    const path = join(tmp, 'a.bin');
    writeFileSync(path, 'old');
    await writeFileAtomic(path, new TextEncoder().encode('new contents'));
    assert.equal(readFileSync(path, 'utf8'), 'new contents');
    assert.deepEqual(readdirSync(tmp), ['a.bin']);
  });

  it('fails without leaving anything when the directory does not exist', async () => {
    const path = join(tmp, 'missing', 'a.bin');
    await assert.rejects(writeFileAtomic(path, new Uint8Array(3)), {
      message: `cannot write ${path}: its folder does not exist`,
    });
    assert.deepEqual(readdirSync(tmp), ['a.bin']);
  });

  it('leaves the old file intact when the volume cannot be serialised', async () => {
    const path = join(tmp, 'v.nii.gz');
    const v = parseNifti(readFileSync(fixturePath('nifti', 'labels_uint8.nii.gz')), 'labels');
    await writeVolumeAtomic(path, v);
    const before = readFileSync(path);
    const broken = { ...v, shape: [999, 1, 1] };
    await assert.rejects(writeVolumeAtomic(path, broken), /do not fill shape/);
    assert.deepEqual(readFileSync(path), before);
    assert.deepEqual(parseNifti(before, path).data, v.data);
    assert.deepEqual(before.subarray(0, 2), Buffer.from([0x1f, 0x8b])); // .nii.gz is gzipped
    assert.equal(serializeNifti(v).length, 352 + 32 * 32 * 8);
  });

  it('refuses an output name that is not .nii or .nii.gz', async () => {
    const v = parseNifti(readFileSync(fixturePath('nifti', 'labels_uint8.nii.gz')), 'labels');
    await assert.rejects(writeVolumeAtomic(join(tmp, 'x.img'), v), /written as \.nii or \.nii\.gz/);
  });
});
